package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

func addEvent(ctx context.Context, tx *sql.Tx, ev Event, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (event_id, topic, payload, created_at) VALUES (?, ?, ?, ?)`,
		ev.ID, ev.Topic, ev.Payload, now.UnixMilli()); err != nil {
		return fmt.Errorf("add event %s: %w", ev.ID, err)
	}
	return nil
}

// PendingEvents returns at most limit unpublished events, oldest first.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, event_id, topic, payload FROM outbox
		WHERE published_at IS NULL ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		if err := rows.Scan(&ev.Seq, &ev.ID, &ev.Topic, &ev.Payload); err != nil {
			return nil, fmt.Errorf("store: read outbox: %w", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", err)
	}
	return out, nil
}

// MarkPublished records that the event was published.
func (s *Store) MarkPublished(ctx context.Context, eventID string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE outbox SET published_at = ? WHERE event_id = ? AND published_at IS NULL`,
		at.UnixMilli(), eventID); err != nil {
		return fmt.Errorf("store: mark event %s published: %w", eventID, err)
	}
	return nil
}
