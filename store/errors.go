package store

import (
	"errors"
	"fmt"
)

// Errors callers tell apart with errors.Is / errors.As.
var (
	ErrNotFound = errors.New("not found")
)

// ValidationError is bad input: which field, and what is wrong with it.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ConflictError is a request that is well-formed but not allowed in the
// object's current state (a maintenance moved backwards, say).
type ConflictError struct {
	Message string
	Err     error // the cause, when a database constraint found the conflict
}

func (e *ConflictError) Error() string { return e.Message }
func (e *ConflictError) Unwrap() error { return e.Err }

// NotFoundError names what was missing; it matches ErrNotFound.
type NotFoundError struct {
	Kind string
	ID   string
}

func (e *NotFoundError) Error() string        { return fmt.Sprintf("%s %q not found", e.Kind, e.ID) }
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }
