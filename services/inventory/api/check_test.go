package api

import (
	"strings"
	"testing"
)

func TestCheckItemCount(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{n: 0, want: "at least one"},
		{n: 1},
		{n: MaxItems},
		{n: MaxItems + 1, want: "the maximum is 20"},
	}
	for _, tt := range tests {
		got := CheckItemCount(tt.n)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("CheckItemCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestCheckItem(t *testing.T) {
	tests := []struct {
		desc      string
		productID string
		quantity  int64
		field     string
	}{
		{desc: "good", productID: "sku-1001", quantity: 1},
		{desc: "max quantity", productID: "sku-1001", quantity: MaxQuantity},
		{desc: "empty id", productID: "", quantity: 1, field: "product_id"},
		{desc: "uppercase id", productID: "SKU-1001", quantity: 1, field: "product_id"},
		{desc: "path id", productID: "../etc", quantity: 1, field: "product_id"},
		{desc: "long id", productID: strings.Repeat("a", 65), quantity: 1, field: "product_id"},
		{desc: "zero", productID: "sku-1001", quantity: 0, field: "quantity"},
		{desc: "negative", productID: "sku-1001", quantity: -3, field: "quantity"},
		{desc: "too many", productID: "sku-1001", quantity: MaxQuantity + 1, field: "quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			field, reason := CheckItem(tt.productID, tt.quantity)
			if field != tt.field {
				t.Fatalf("field = %q (%s), want %q", field, reason, tt.field)
			}
			if (field == "") != (reason == "") {
				t.Fatalf("field %q with reason %q", field, reason)
			}
		})
	}
}

func TestItemField(t *testing.T) {
	if got := ItemField(2, "quantity"); got != "items[2].quantity" {
		t.Errorf("ItemField = %q", got)
	}
}
