package services_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatewayLimitMessage is error.message of a 429 from the gateway's own
// limits (httpapi.WriteRateLimited). A 429 passed on from a backend has the
// message "too many requests; retry later" instead.
const gatewayLimitMessage = "rate limit exceeded; retry after the number of seconds in Retry-After"

// testLoginLockout is the lockout attack: wrong passwords for a victim's
// email from five other addresses, then the victim logs in from a fresh
// address.
func testLoginLockout(t *testing.T, st *stack) {
	victim := st.client(t)
	email := fmt.Sprintf("lockout-%d@example.com", addressCounter.Add(1))
	victim.must("POST", "/v1/users", "", fmt.Sprintf(`{"email":%q,"password":"violet-harbor-31"}`, email), http.StatusCreated)

	attacker := st.client(t)
	attacker.rotate = true
	wrong := fmt.Sprintf(`{"email":%q,"password":"wrong-guess-0001"}`, email)
	for attempt := 1; attempt <= 5; attempt++ {
		if rsp := attacker.do("POST", "/v1/sessions", "", wrong); rsp.status != http.StatusUnauthorized {
			t.Fatalf("attacker attempt %d = %d %s, want 401", attempt, rsp.status, rsp.raw)
		}
	}
	fresh := st.client(t)
	right := fmt.Sprintf(`{"email":%q,"password":"violet-harbor-31"}`, email)
	rsp := fresh.do("POST", "/v1/sessions", "", right)
	if rsp.status != http.StatusCreated {
		t.Fatalf("victim's login from a fresh address after 5 failures elsewhere = %d %s, want 201", rsp.status, rsp.raw)
	}
	if token, _ := rsp.body["token"].(string); token == "" {
		t.Fatalf("victim's login returned no token: %s", rsp.raw)
	}
}

// testLoginBruteForce guesses one email's password from one address: the
// (email, address) budget rejects the sixth attempt, even with the right
// password.
func testLoginBruteForce(t *testing.T, st *stack) {
	c := st.client(t)
	email := fmt.Sprintf("brute-%d@example.com", addressCounter.Add(1))
	c.must("POST", "/v1/users", "", fmt.Sprintf(`{"email":%q,"password":"violet-harbor-31"}`, email), http.StatusCreated)
	wrong := fmt.Sprintf(`{"email":%q,"password":"wrong-guess-0001"}`, email)
	for attempt := 1; attempt <= 5; attempt++ {
		if rsp := c.do("POST", "/v1/sessions", "", wrong); rsp.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d %s, want 401", attempt, rsp.status, rsp.raw)
		}
	}
	last := c.do("POST", "/v1/sessions", "", wrong)
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("6th attempt from one address within a minute = %d %s, want 429", last.status, last.raw)
	}
	if last.header.Get("Retry-After") == "" {
		t.Error("login 429 without Retry-After")
	}
	right := fmt.Sprintf(`{"email":%q,"password":"violet-harbor-31"}`, email)
	if rsp := c.do("POST", "/v1/sessions", "", right); rsp.status != http.StatusTooManyRequests {
		t.Errorf("right password from the guessing address during the limit = %d, want 429", rsp.status)
	}
}

// testLoginDistributedCap guesses one email's password from a new address
// each time: after 10 failures (the burst of the per-email failure budget)
// every address gets 429, the owner's included.
func testLoginDistributedCap(t *testing.T, st *stack) {
	c := st.client(t)
	email := fmt.Sprintf("spread-%d@example.com", addressCounter.Add(1))
	c.must("POST", "/v1/users", "", fmt.Sprintf(`{"email":%q,"password":"violet-harbor-31"}`, email), http.StatusCreated)
	c.rotate = true
	wrong := fmt.Sprintf(`{"email":%q,"password":"wrong-guess-0001"}`, email)
	for attempt := 1; attempt <= 10; attempt++ {
		if rsp := c.do("POST", "/v1/sessions", "", wrong); rsp.status != http.StatusUnauthorized {
			t.Fatalf("guess %d from a new address = %d %s, want 401", attempt, rsp.status, rsp.raw)
		}
	}
	last := c.do("POST", "/v1/sessions", "", wrong)
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("11th guess from a new address = %d %s, want 429 from the per-email cap", last.status, last.raw)
	}
	if seconds, err := strconv.Atoi(last.header.Get("Retry-After")); err != nil || seconds < 60 {
		t.Errorf("Retry-After = %q, want about 120 seconds (one failure at 30 an hour)", last.header.Get("Retry-After"))
	}
	right := fmt.Sprintf(`{"email":%q,"password":"violet-harbor-31"}`, email)
	if rsp := c.do("POST", "/v1/sessions", "", right); rsp.status != http.StatusTooManyRequests {
		t.Errorf("right password during the per-email cap = %d, want 429", rsp.status)
	}
}

// testRegistrationFlood sends 15 registrations from each of three
// addresses, within the gateway's general budget of 10/s burst 20 per
// address, 45 in all against the users service's 10/s burst 20 for the
// gateway. The users service's budget must not run out: a fourth address
// still registers, and every 429 comes from the gateway.
func testRegistrationFlood(t *testing.T, st *stack) {
	before := usersRegisterRejections(t, st)
	flooders := []*apiClient{st.client(t), st.client(t), st.client(t)}
	results := make([][]response, len(flooders))
	var wg sync.WaitGroup
	for i, c := range flooders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 15 {
				body := fmt.Sprintf(`{"email":"flood-%d-%d-%d@example.com","password":"violet-harbor-31"}`,
					addressCounter.Add(1), i, n)
				results[i] = append(results[i], c.do("POST", "/v1/users", "", body))
			}
		}()
	}
	wg.Wait()
	for i, rsps := range results {
		created, limited := 0, 0
		for _, rsp := range rsps {
			switch {
			case rsp.status == http.StatusCreated:
				created++
			case rsp.status == http.StatusTooManyRequests && rsp.errorMessage() == gatewayLimitMessage:
				limited++
			default:
				t.Errorf("flooder %d: POST /v1/users = %d %s, want 201 or the gateway's 429", i, rsp.status, rsp.raw)
			}
		}
		// The address's budget is 5/m burst 5. The shared budget of the
		// route may reject some earlier when other subtests spent it just
		// before; both are the gateway's 429.
		if created > 5 || created+limited != 15 {
			t.Errorf("flooder %d: %d created and %d rejected by the gateway, want at most 5 created of 15", i, created, limited)
		}
	}

	// A fourth address may meet the route's shared budget while the flood
	// has just spent it, but only as the gateway's 429, and it registers
	// once it waits Retry-After.
	victim := st.client(t)
	body := fmt.Sprintf(`{"email":"after-flood-%d@example.com","password":"violet-harbor-31"}`, addressCounter.Add(1))
	rsp := victim.do("POST", "/v1/users", "", body)
	if rsp.status == http.StatusTooManyRequests && rsp.errorMessage() == gatewayLimitMessage {
		seconds, err := strconv.Atoi(rsp.header.Get("Retry-After"))
		if err != nil || seconds < 1 || seconds > 5 {
			t.Fatalf("gateway 429 after the flood has Retry-After %q, want 1 to 5 seconds", rsp.header.Get("Retry-After"))
		}
		time.Sleep(time.Duration(seconds) * time.Second)
		rsp = victim.do("POST", "/v1/users", "", body)
	}
	if rsp.status != http.StatusCreated {
		t.Fatalf("registration from a fourth address after the flood = %d %s, want 201", rsp.status, rsp.raw)
	}
	if after := usersRegisterRejections(t, st); after != before {
		t.Errorf("users rejected %v Users.Register calls of the gateway during the flood, want 0", after-before)
	}
}

// testRegistrationGlobalBudget registers from 40 addresses at once, one
// request each, more than the users service's burst of 20 for the gateway.
// The gateway's budget for the route, shared by all clients, rejects the
// excess: no 429 comes from the backend.
func testRegistrationGlobalBudget(t *testing.T, st *stack) {
	before := usersRegisterRejections(t, st)
	clients := make([]*apiClient, 40)
	for i := range clients {
		clients[i] = st.client(t)
	}
	results := make([]response, len(clients))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := fmt.Sprintf(`{"email":"crowd-%d@example.com","password":"violet-harbor-31"}`, addressCounter.Add(1))
			results[i] = c.do("POST", "/v1/users", "", body)
		}()
	}
	close(start)
	wg.Wait()
	created, limited := 0, 0
	for _, rsp := range results {
		switch {
		case rsp.status == http.StatusCreated:
			created++
		case rsp.status == http.StatusTooManyRequests && rsp.errorMessage() == gatewayLimitMessage:
			limited++
		default:
			t.Errorf("POST /v1/users = %d %s, want 201 or the gateway's 429", rsp.status, rsp.raw)
		}
	}
	if limited == 0 {
		t.Errorf("40 registrations at once: %d created, none rejected by the gateway's shared budget", created)
	}
	if after := usersRegisterRejections(t, st); after != before {
		t.Errorf("users rejected %v Users.Register calls of the gateway, want 0", after-before)
	}

	// The shared budget refills at 8 a second, so registration serves
	// again soon, and later subtests find the budget refilled.
	late := st.client(t)
	late.rotate = true
	waitFor(t, 10*time.Second, "registration served after the crowd", func() bool {
		body := fmt.Sprintf(`{"email":"late-%d@example.com","password":"violet-harbor-31"}`, addressCounter.Add(1))
		return late.do("POST", "/v1/users", "", body).status == http.StatusCreated
	})
}

// usersRegisterRejections returns the users service's count of rejected
// Users.Register calls, from its admin listener.
func usersRegisterRejections(t *testing.T, st *stack) float64 {
	t.Helper()
	rsp, err := http.Get("http://" + st.services["users"].admin + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics of users: %v", err)
	}
	defer rsp.Body.Close()
	body, err := io.ReadAll(rsp.Body)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	scanner := bufio.NewScanner(strings.NewReader(string(body)))
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "bulwark_ratelimit_rejected_total{") || !strings.Contains(line, `endpoint="Users.Register"`) {
			continue
		}
		fields := strings.Fields(line)
		value, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q has no number: %v", line, err)
		}
		total += value
	}
	return total
}
