package pki_test

import (
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/platform/security/pki"
	"github.com/bulwark-go/bulwark/platform/security/pki/pkitest"
)

func verifies(pool *x509.CertPool, ca *pkitest.CA, t *testing.T) bool {
	leaf := ca.Leaf(t, "orders", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	inter := x509.NewCertPool()
	inter.AddCert(ca.Intermediate)
	_, err := leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
	return err == nil
}

func TestBundleReloadAppliesNewCA(t *testing.T) {
	oldCA, newCA := pkitest.NewCA(t), pkitest.NewCA(t)
	dir := t.TempDir()
	path := oldCA.WriteRoot(t, dir)
	b, err := pki.LoadBundle(path)
	if err != nil {
		t.Fatalf("LoadBundle: %v", err)
	}
	if !verifies(b.Pool(), oldCA, t) || verifies(b.Pool(), newCA, t) {
		t.Fatal("initial bundle does not hold exactly the old CA")
	}

	// During a CA rotation the file holds both roots.
	both := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: oldCA.Root.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: newCA.Root.Raw})...)
	if err := os.WriteFile(path, both, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if !verifies(b.Pool(), oldCA, t) || !verifies(b.Pool(), newCA, t) {
		t.Fatal("reloaded bundle does not hold both CAs")
	}

	// A broken file keeps the previous bundle.
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(); err == nil {
		t.Fatal("Reload of a broken file = nil, want an error")
	}
	if !verifies(b.Pool(), newCA, t) {
		t.Fatal("broken file replaced the bundle")
	}
}

func TestLoadBundleRejects(t *testing.T) {
	ca := pkitest.NewCA(t)
	dir := t.TempDir()
	leafPath := filepath.Join(dir, "leaf.pem")
	leaf := ca.Leaf(t, "orders", time.Now(), time.Now().Add(time.Hour))
	if err := os.WriteFile(leafPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Leaf.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyPath := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(emptyPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, path, wantErr string
	}{
		{desc: "unset", path: "", wantErr: "CA file is not set"},
		{desc: "missing", path: filepath.Join(dir, "missing.pem"), wantErr: "no such file"},
		{desc: "empty", path: emptyPath, wantErr: "contains no PEM certificate"},
		{desc: "leaf", path: leafPath, wantErr: "is not a CA certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := pki.LoadBundle(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("LoadBundle(%q) = %v, want an error containing %q", tt.path, err, tt.wantErr)
			}
		})
	}
}

func TestSerialFormat(t *testing.T) {
	tests := []struct {
		serial int64
		want   string
	}{
		{serial: 0x0a, want: "0a"},
		{serial: 0x1234ab, want: "12:34:ab"},
		{serial: 0x123, want: "01:23"},
	}
	for _, tt := range tests {
		got := pki.Serial(&x509.Certificate{SerialNumber: big.NewInt(tt.serial)})
		if got != tt.want {
			t.Errorf("Serial(%#x) = %q, want %q", tt.serial, got, tt.want)
		}
	}
}
