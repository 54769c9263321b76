package rows

import (
	"reflect"
	"testing"
	"time"

	"github.com/carnot-dc/carnot/internal/api"
)

// UTCJob writes every time of a job in UTC, those of its replicas and
// its reason included: a job with every time field set in another zone
// comes back with none left in it, whatever fields api.Job gains (the
// test finds them by reflection), and the job given is not changed.
func TestUTCJobConvertsEveryTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 3, 2, 11, 0, 0, 0, paris)
	var j api.Job
	found := fill(reflect.ValueOf(&j).Elem(), at)
	if found < 10 {
		t.Fatalf("found %d time fields in api.Job; the walk missed some", found)
	}
	got := UTCJob(&j)
	var bad []string
	walkTimes(reflect.ValueOf(&got).Elem(), "job", func(path string, v time.Time) {
		if v.Location() != time.UTC {
			bad = append(bad, path)
		}
	})
	if len(bad) > 0 {
		t.Errorf("UTCJob left these times in their zone: %v", bad)
	}
	walkTimes(reflect.ValueOf(&j).Elem(), "job", func(path string, v time.Time) {
		if v.Location() != paris {
			t.Errorf("UTCJob changed the job given: %s is %v", path, v)
		}
	})
}

var timeType = reflect.TypeFor[time.Time]()

// fill sets every time.Time reachable in v to at, allocating pointers and
// one element of each slice on the way, and counts them.
func fill(v reflect.Value, at time.Time) int {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(at))
		return 1
	case v.Kind() == reflect.Pointer:
		if v.Type().Elem().Kind() != reflect.Struct {
			return 0
		}
		p := reflect.New(v.Type().Elem())
		if n := fill(p.Elem(), at); n > 0 {
			v.Set(p)
			return n
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		if n := fill(s.Index(0), at); n > 0 {
			v.Set(s)
			return n
		}
	case v.Kind() == reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n += fill(v.Field(i), at)
			}
		}
		return n
	}
	return 0
}

// walkTimes calls f with every time.Time reachable in v and its path.
func walkTimes(v reflect.Value, path string, f func(string, time.Time)) {
	switch {
	case v.Type() == timeType:
		f(path, v.Interface().(time.Time))
	case v.Kind() == reflect.Pointer:
		if !v.IsNil() {
			walkTimes(v.Elem(), path, f)
		}
	case v.Kind() == reflect.Slice:
		for i := range v.Len() {
			walkTimes(v.Index(i), path+"[]", f)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walkTimes(v.Field(i), path+"."+v.Type().Field(i).Name, f)
			}
		}
	}
}
