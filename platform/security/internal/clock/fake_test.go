package clock

import (
	"testing"
	"time"
)

func TestFakeTimerFiresOnAdvance(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	timer := f.NewTimer(10 * time.Second)

	f.Advance(9 * time.Second)
	select {
	case <-timer.C():
		t.Fatal("timer fired before its deadline")
	default:
	}

	f.Advance(time.Second)
	select {
	case got := <-timer.C():
		if want := start.Add(10 * time.Second); !got.Equal(want) {
			t.Fatalf("timer fired at %v, want %v", got, want)
		}
	default:
		t.Fatal("timer did not fire at its deadline")
	}
	if f.Pending() != 0 {
		t.Fatalf("Pending = %d after the timer fired, want 0", f.Pending())
	}
}

func TestFakeTimerStop(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	timer := f.NewTimer(time.Second)
	if !timer.Stop() {
		t.Fatal("Stop of a pending timer = false, want true")
	}
	if timer.Stop() {
		t.Fatal("second Stop = true, want false")
	}
	f.Advance(time.Hour)
	select {
	case <-timer.C():
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestFakeZeroTimerFiresAtOnce(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	timer := f.NewTimer(0)
	select {
	case <-timer.C():
	default:
		t.Fatal("timer of zero duration did not fire at once")
	}
}

func TestFakeWaitForTimers(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	go func() { f.NewTimer(time.Minute) }()
	if !f.WaitForTimers(1, 5*time.Second) {
		t.Fatal("WaitForTimers did not see the timer")
	}
	deadline, ok := f.NextDeadline()
	if !ok || !deadline.Equal(time.Unix(60, 0)) {
		t.Fatalf("NextDeadline = %v, %v; want %v, true", deadline, ok, time.Unix(60, 0))
	}
	if f.WaitForTimers(2, 10*time.Millisecond) {
		t.Fatal("WaitForTimers(2) = true with one timer pending")
	}
}
