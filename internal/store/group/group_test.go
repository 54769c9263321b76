package group

import (
	"slices"
	"testing"
)

func TestLoopTakesWhatWaits(t *testing.T) {
	reqs := make(chan int, 10)
	for i := range 7 {
		reqs <- i
	}
	close(reqs)
	var got [][]int
	Loop(reqs, 3, func(b []int) { got = append(got, slices.Clone(b)) })
	want := [][]int{{0, 1, 2}, {3, 4, 5}, {6}}
	if !slices.EqualFunc(got, want, slices.Equal[[]int]) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestLoopDoesNotWait(t *testing.T) {
	reqs := make(chan int)
	ran := make(chan []int)
	go func() {
		Loop(reqs, 3, func(b []int) { ran <- slices.Clone(b) })
		close(ran)
	}()
	reqs <- 1
	if b := <-ran; !slices.Equal(b, []int{1}) {
		t.Fatalf("batch %v, want [1]: a request alone is a batch", b)
	}
	close(reqs)
	if b, ok := <-ran; ok {
		t.Fatalf("batch %v after close, want none", b)
	}
}
