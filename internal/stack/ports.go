package stack

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Ports are the loopback ports of a native stack.
type Ports struct {
	Vault, VaultCluster                   int
	ConsulHTTPS, ConsulSerf, ConsulServer int
	Redis                                 int
	Gateway                               int
	Admin                                 map[string]int // by service name

	services []string // the services of Admin in port order
}

// Port offsets from Config.PortBase.
const (
	offsetVault = iota
	offsetVaultCluster
	offsetConsulHTTPS
	offsetConsulSerf
	offsetConsulServer
	offsetRedis
	offsetGateway
	offsetAdmin // one per service, in the order of infra/services.yaml
	// portCount is the number of ports of a stack with the four shipped
	// services; each added service takes one more.
	portCount = offsetAdmin + 4
)

// defaultAdminPort is the admin port of the first service at base zero.
const defaultAdminPort = 9101

// PlanPorts returns the ports of a stack of the four shipped services (see
// PlanServicePorts).
func PlanPorts(base int) (Ports, error) {
	return PlanServicePorts(base, defaultAdminOrder)
}

// PlanServicePorts returns the ports of a stack that runs services, whose
// admin ports follow their order. Base zero selects the documented ports
// (Vault 8200, Consul 8501, Redis 6380, gateway 8443, admin ports from 9101:
// 9101-9104 for gateway, users, orders and inventory, plus Vault's cluster
// port 8201 and Consul's 8301 and 8300). Another base places the 7 server
// and gateway ports and one admin port per service at base, base+1, and so
// on, which lets a second stack run beside the first.
func PlanServicePorts(base int, services []string) (Ports, error) {
	if len(services) == 0 {
		return Ports{}, errors.New("stack: no services to plan ports for; list them in infra/services.yaml")
	}
	if base == 0 {
		p := Ports{
			Vault: 8200, VaultCluster: 8201,
			ConsulHTTPS: 8501, ConsulSerf: 8301, ConsulServer: 8300,
			Redis: 6380, Gateway: 8443,
			Admin:    map[string]int{},
			services: slices.Clone(services),
		}
		for i, name := range services {
			p.Admin[name] = defaultAdminPort + i
		}
		return p, nil
	}
	count := offsetAdmin + len(services)
	if base < 1024 || base+count-1 > 65535 {
		return Ports{}, fmt.Errorf("stack: port base %d is out of range; use 1024-%d or 0 for the default ports", base, 65535-count+1)
	}
	p := Ports{
		Vault: base + offsetVault, VaultCluster: base + offsetVaultCluster,
		ConsulHTTPS: base + offsetConsulHTTPS, ConsulSerf: base + offsetConsulSerf, ConsulServer: base + offsetConsulServer,
		Redis: base + offsetRedis, Gateway: base + offsetGateway,
		Admin:    map[string]int{},
		services: slices.Clone(services),
	}
	for i, name := range services {
		p.Admin[name] = base + offsetAdmin + i
	}
	return p, nil
}

// NamedPort is a port with the listener it belongs to.
type NamedPort struct {
	Component string
	Name      string
	Port      int
}

// ByComponent returns the fixed ports of one component.
func (p Ports) ByComponent(component string) []NamedPort {
	switch component {
	case Consul:
		return []NamedPort{
			{Consul, "Consul HTTPS", p.ConsulHTTPS},
			{Consul, "Consul Serf LAN", p.ConsulSerf},
			{Consul, "Consul server RPC", p.ConsulServer},
		}
	case Vault:
		return []NamedPort{{Vault, "Vault API", p.Vault}, {Vault, "Vault cluster", p.VaultCluster}}
	case Redis:
		return []NamedPort{{Redis, "Redis", p.Redis}}
	case "gateway":
		return []NamedPort{{"gateway", "gateway HTTPS", p.Gateway}, {"gateway", "gateway admin", p.Admin["gateway"]}}
	default:
		return []NamedPort{{component, component + " admin", p.Admin[component]}}
	}
}

// All returns every fixed port of the stack.
func (p Ports) All() []NamedPort {
	var all []NamedPort
	for _, c := range append([]string{Consul, Vault, Redis}, p.services...) {
		all = append(all, p.ByComponent(c)...)
	}
	return all
}

// checkFree returns an error naming the port and, when /proc shows it, the
// process that listens on it.
func checkFree(port NamedPort) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port.Port)))
	if err == nil {
		l.Close()
		return nil
	}
	owner := "another process"
	if pid, comm, ok := PortOwner(port.Port); ok {
		owner = fmt.Sprintf("pid %d (%s)", pid, comm)
	}
	return fmt.Errorf("stack: port %d for the %s listener on 127.0.0.1 is in use by %s; stop it, or set BULWARK_PORT_BASE to move the whole stack",
		port.Port, port.Name, owner)
}

// PortOwner returns the process listening on a TCP port, found through
// /proc/net/tcp{,6} and the socket links of /proc/*/fd. It finds nothing for
// processes of other users unless the caller may read their /proc entries.
func PortOwner(port int) (pid int, comm string, ok bool) {
	inodes := listeningInodes(port)
	if len(inodes) == 0 {
		return 0, "", false
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				pid, _ = strconv.Atoi(filepath.Base(dir))
				name, _ := os.ReadFile(filepath.Join(dir, "comm"))
				return pid, strings.TrimSpace(string(name)), true
			}
		}
	}
	return 0, "", false
}

// ListeningPorts returns the TCP ports on which pid listens.
func ListeningPorts(pid int) ([]int, error) {
	addrs, err := ListeningAddrs(pid)
	if err != nil {
		return nil, err
	}
	ports := make([]int, 0, len(addrs))
	for _, addr := range addrs {
		ports = append(ports, int(addr.Port()))
	}
	return ports, nil
}

// ListeningAddrs returns the local addresses of the TCP sockets on which
// pid listens.
func ListeningAddrs(pid int) ([]netip.AddrPort, error) {
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	sockets := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			sockets[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var addrs []netip.AddrPort
	for key, inode := range listeners() {
		if !sockets[inode] {
			continue
		}
		ip, err := parseProcAddr(key.address)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, netip.AddrPortFrom(ip, uint16(key.port)))
	}
	return addrs, nil
}

// parseProcAddr decodes an address of /proc/net/tcp{,6}: hex digits of
// 32-bit words, each in host byte order (little-endian on the machines
// Bulwark supports).
func parseProcAddr(text string) (netip.Addr, error) {
	raw, err := hex.DecodeString(text)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.Addr{}, fmt.Errorf("stack: unexpected address %q in /proc/net/tcp", text)
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	ip, _ := netip.AddrFromSlice(raw)
	return ip.Unmap(), nil
}

// listeningInodes returns the socket inodes listening on port.
func listeningInodes(port int) map[string]bool {
	inodes := map[string]bool{}
	for key, inode := range listeners() {
		if key.port == port {
			inodes[inode] = true
		}
	}
	return inodes
}

type listenKey struct {
	port    int
	address string // local address in /proc/net/tcp hex form
}

// listeners returns every listening TCP socket of /proc/net/tcp and tcp6 by
// port and local address, with its inode.
func listeners() map[listenKey]string {
	found := map[listenKey]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		// A missing file (no IPv6) or an unreadable one leaves the map
		// without its sockets, so the callers report no owner for them.
		_ = scanListeners(file, found)
	}
	return found
}

// tcpListen is the state code of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

func scanListeners(file string, found map[listenKey]string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Scan() // header line
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 10 || fields[3] != tcpListen {
			continue
		}
		host, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil {
			continue
		}
		found[listenKey{int(port), host}] = fields[9]
	}
	return scanner.Err()
}
