package store

import (
	"context"
	"fmt"
)

// CancelMaintenance calls off a window that has not started: it is removed
// from the page (the audit log keeps what it was). A window in progress is
// ended instead by completing it, which returns its components to rest.
func (s *Store) CancelMaintenance(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(t *tx) error {
		before, err := getMaintenance(t.ctx, t.Tx, id)
		if err != nil {
			return err
		}
		if before.Status != MaintenanceScheduled {
			return &ConflictError{Message: fmt.Sprintf("maintenance is %s; only a scheduled maintenance can be cancelled — complete it instead", before.Status)}
		}
		if _, err := t.exec(`DELETE FROM maintenances WHERE id = ?`, id); err != nil {
			return err
		}
		if err := t.audit("maintenance.cancel", "maintenance", id, before, nil); err != nil {
			return err
		}
		return t.event("maintenance.deleted", "maintenance", id)
	})
	if err != nil {
		return fmt.Errorf("store: cancel maintenance: %w", err)
	}
	return nil
}
