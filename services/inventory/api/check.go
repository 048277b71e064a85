package api

import (
	"fmt"
	"strconv"
)

// CheckItemCount returns a reason why an order or reservation with n lines
// is not acceptable, or "" if it is. The field is "items".
func CheckItemCount(n int) string {
	switch {
	case n == 0:
		return "must contain at least one item"
	case n > MaxItems:
		return fmt.Sprintf("contains %d items; the maximum is %d", n, MaxItems)
	}
	return ""
}

// CheckItem returns the field ("product_id" or "quantity") and the reason why
// one line is not acceptable, or two empty strings if it is.
func CheckItem(productID string, quantity int64) (field, reason string) {
	switch {
	case productID == "":
		return "product_id", "is required"
	case len(productID) > 64:
		return "product_id", fmt.Sprintf("is %d bytes long; the maximum is 64", len(productID))
	case !ProductIDPattern.MatchString(productID):
		return "product_id", "must contain only lowercase letters, digits and hyphens, such as sku-1001"
	case quantity < 1:
		return "quantity", "must be at least 1, got " + strconv.FormatInt(quantity, 10)
	case quantity > MaxQuantity:
		return "quantity", fmt.Sprintf("is %d; the maximum per item is %d", quantity, MaxQuantity)
	}
	return "", ""
}

// ItemField returns the field path of one line's field, such as
// items[2].quantity.
func ItemField(index int, field string) string {
	return "items[" + strconv.Itoa(index) + "]." + field
}
