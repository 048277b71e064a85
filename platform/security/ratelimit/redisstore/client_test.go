package redisstore

import (
	"testing"
	"time"
)

func TestNewClientBoundsConnectionAge(t *testing.T) {
	tests := []struct {
		desc string
		age  time.Duration
		want time.Duration
	}{
		{"default", 0, DefaultMaxConnAge},
		{"explicit", time.Minute, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := NewClient(ClientOptions{Addr: "127.0.0.1:1", MaxConnAge: tt.age})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Options().ConnMaxLifetime; got != tt.want {
				t.Errorf("ConnMaxLifetime = %v, want %v", got, tt.want)
			}
		})
	}
}
