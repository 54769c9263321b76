package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/carnot-dc/carnot/internal/api"
)

// A request body of more than one media type is 415, with the header
// named: a Content-Type header sent twice (the server read the first,
// an intermediary in front of it may read the other), or one whose
// value is a list. Before, two headers were accepted, the first read.
func TestABodyOfTwoContentTypesIsRefused(t *testing.T) {
	e := devEnv(t)
	hs := httptest.NewServer(e.h)
	defer hs.Close()
	body, err := json.Marshal(spec(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		types []string
		field string // of the problem's error; "" for none
	}{
		{"json then text", []string{"application/json", "text/plain"}, "Content-Type"},
		{"json twice", []string{"application/json", "application/json"}, "Content-Type"},
		{"a list", []string{"application/json, text/plain"}, ""},
	}
	for _, c := range cases {
		req, err := http.NewRequest("POST", hs.URL+"/v1/jobs", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range c.types {
			req.Header.Add("Content-Type", ct)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p api.Problem
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || err != nil {
			t.Errorf("%s: %d %+v (%v); want 415", c.name, resp.StatusCode, p, err)
			continue
		}
		if c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Message != "the Content-Type header is given 2 times: send it once") {
			t.Errorf("%s: errors %+v; want the %s header named, given twice", c.name, p.Errors, c.field)
		}
	}
	var jobs api.JobList
	if code := e.do("GET", "/v1/jobs", nil, &jobs); code != http.StatusOK || len(jobs.Jobs) != 0 {
		t.Errorf("jobs after the refused submissions: %d, %d jobs; want none", code, len(jobs.Jobs))
	}
	// One header, one type, is taken.
	req, _ := http.NewRequest("POST", hs.URL+"/v1/jobs", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("one Content-Type: %d; want 201", resp.StatusCode)
	}
}
