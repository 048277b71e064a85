package httpapi

import (
	"net/http"
	"time"

	inventoryapi "github.com/bulwark-go/bulwark/services/inventory/api"
	ordersapi "github.com/bulwark-go/bulwark/services/orders/api"
)

type product struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Stock      int64  `json:"stock"`
}

type orderItem struct {
	ProductID      string `json:"product_id"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents,omitempty"`
}

type order struct {
	ID         string      `json:"id"`
	Status     string      `json:"status"`
	Items      []orderItem `json:"items"`
	TotalCents int64       `json:"total_cents"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

type placeOrderRequest struct {
	Items []orderItemRequest `json:"items"`
}

type orderItemRequest struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

func toOrder(o ordersapi.Order) order {
	out := order{ID: o.ID, Status: o.Status, TotalCents: o.TotalCents, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		Items: make([]orderItem, 0, len(o.Items))}
	for _, it := range o.Items {
		out.Items = append(out.Items, orderItem(it))
	}
	return out
}

func (a *API) listProducts(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.backendContext(r)
	defer cancel()
	rsp, err := a.b.Products.ListProducts(ctx, &inventoryapi.ListProductsRequest{})
	if err != nil {
		writeError(w, backendError(r.Context(), a.cfg.Log, inventoryapi.ServiceName, err))
		return
	}
	out := make([]product, 0, len(rsp.Products))
	for _, p := range rsp.Products {
		out = append(out, product(p))
	}
	writeJSON(w, http.StatusOK, map[string][]product{"products": out})
}

func (a *API) placeOrder(w http.ResponseWriter, r *http.Request) {
	userID, _ := UserIDFromContext(r.Context())
	var req placeOrderRequest
	if e := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); e != nil {
		writeError(w, e)
		return
	}
	if reason := inventoryapi.CheckItemCount(len(req.Items)); reason != "" {
		writeError(w, badRequest("items", reason))
		return
	}
	items := make([]ordersapi.Item, 0, len(req.Items))
	for i, it := range req.Items {
		if field, reason := inventoryapi.CheckItem(it.ProductID, it.Quantity); field != "" {
			writeError(w, badRequest(inventoryapi.ItemField(i, field), reason))
			return
		}
		items = append(items, ordersapi.Item(it))
	}
	ctx, cancel := a.backendContext(r)
	defer cancel()
	rsp, err := a.b.Orders.Place(ctx, &ordersapi.PlaceRequest{UserID: userID, Items: items})
	if err != nil {
		writeError(w, backendError(r.Context(), a.cfg.Log, ordersapi.ServiceName, err))
		return
	}
	w.Header().Set("Location", "/v1/orders/"+rsp.Order.ID)
	writeJSON(w, http.StatusCreated, map[string]order{"order": toOrder(rsp.Order)})
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request) {
	userID, _ := UserIDFromContext(r.Context())
	ctx, cancel := a.backendContext(r)
	defer cancel()
	rsp, err := a.b.Orders.List(ctx, &ordersapi.ListRequest{UserID: userID})
	if err != nil {
		writeError(w, backendError(r.Context(), a.cfg.Log, ordersapi.ServiceName, err))
		return
	}
	out := make([]order, 0, len(rsp.Orders))
	for _, o := range rsp.Orders {
		out = append(out, toOrder(o))
	}
	writeJSON(w, http.StatusOK, map[string][]order{"orders": out})
}

// orderID returns the {id} path value if it has the form of an order id. A
// malformed id gets 404 like an unknown one: both name no order.
func orderID(r *http.Request) (string, *apiError) {
	id := r.PathValue("id")
	if !ordersapi.ValidOrderID(id) {
		return "", &apiError{status: http.StatusNotFound, code: codes[404], message: "order not found"}
	}
	return id, nil
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	userID, _ := UserIDFromContext(r.Context())
	id, e := orderID(r)
	if e != nil {
		writeError(w, e)
		return
	}
	ctx, cancel := a.backendContext(r)
	defer cancel()
	rsp, err := a.b.Orders.Get(ctx, &ordersapi.GetRequest{UserID: userID, OrderID: id})
	if err != nil {
		writeError(w, backendError(r.Context(), a.cfg.Log, ordersapi.ServiceName, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]order{"order": toOrder(rsp.Order)})
}

func (a *API) cancelOrder(w http.ResponseWriter, r *http.Request) {
	userID, _ := UserIDFromContext(r.Context())
	id, e := orderID(r)
	if e != nil {
		writeError(w, e)
		return
	}
	// The cancel endpoint takes no body. A body that is sent must be an
	// empty JSON object, so that a client's typo does not pass unnoticed.
	if r.ContentLength != 0 {
		var empty struct{}
		if e := decodeJSON(w, r, a.cfg.MaxBodyBytes, &empty); e != nil {
			writeError(w, e)
			return
		}
	}
	ctx, cancel := a.backendContext(r)
	defer cancel()
	rsp, err := a.b.Orders.Cancel(ctx, &ordersapi.CancelRequest{UserID: userID, OrderID: id})
	if err != nil {
		writeError(w, backendError(r.Context(), a.cfg.Log, ordersapi.ServiceName, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]order{"order": toOrder(rsp.Order)})
}
