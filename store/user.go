package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a user (and the API tokens they own) may do.
type Role string

const (
	// RoleViewer reads everything and changes nothing.
	RoleViewer Role = "viewer"
	// RoleCommander runs incidents, maintenance, component status and
	// templates, and reads subscribers and webhooks.
	RoleCommander Role = "commander"
	// RoleAdmin does everything, including users, tokens and settings.
	RoleAdmin Role = "admin"
)

// Roles lists every role, least powerful first.
var Roles = []Role{RoleViewer, RoleCommander, RoleAdmin}

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleCommander:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether someone with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.Valid() && need.Valid() && r.rank() >= need.rank() }

// Label is the role as people read it.
func (r Role) Label() string {
	switch r {
	case RoleViewer:
		return "Viewer"
	case RoleCommander:
		return "Commander"
	case RoleAdmin:
		return "Admin"
	}
	return string(r)
}

// Narrower returns the less powerful of r and other; an empty other means r.
func (r Role) Narrower(other Role) Role {
	if other == "" || r.rank() <= other.rank() {
		return r
	}
	return other
}

// User is a person who signs in to the console.
type User struct {
	ID                 string     `json:"id"`
	Email              string     `json:"email"`
	Name               string     `json:"name"`
	Role               Role       `json:"role"`
	MustChangePassword bool       `json:"must_change_password"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	LastSignInAt       *time.Time `json:"last_sign_in_at"`
	DisabledAt         *time.Time `json:"disabled_at"`
	// Team notifications a commander or admin chose to be emailed: drafts
	// waiting (and holding statements published for them), and incidents
	// whose promise was missed or that went quiet.
	NotifyDrafts  bool `json:"notify_drafts"`
	NotifyOverdue bool `json:"notify_overdue"`
	// SSO: the user is linked to the OpenID provider and signs in there
	// (sso.go). LocalPassword: they also have a Herald password; a user
	// created by single sign-on has none.
	SSO           bool `json:"sso"`
	LocalPassword bool `json:"local_password"`
}

// Active reports whether the user may sign in.
func (u User) Active() bool { return u.DisabledAt == nil }

// DisplayName is the name when there is one, else the email.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// Actor is the user as the audit log records them.
func (u User) Actor() Actor { return Actor{Type: "user", ID: u.ID, Name: u.Email} }

// UserInput creates a user.
type UserInput struct {
	Email string
	Name  string
	Role  Role
}

// UserPatch changes the fields that are not nil.
type UserPatch struct {
	Name          *string
	Role          *Role
	Disabled      *bool
	NotifyDrafts  *bool
	NotifyOverdue *bool
}

// ErrBadCredentials is every failed sign-in: unknown email, wrong password,
// disabled account. Callers must not tell these apart to the person.
var ErrBadCredentials = errors.New("the email or password is not right")

const userColumns = `id, email, name, role, must_change_password, created_at, updated_at, last_sign_in_at, disabled_at, notify_drafts, notify_overdue, sso_subject <> '', password_hash <> ''`

// userColumnsOf is userColumns of the table named as alias in a join.
func userColumnsOf(alias string) string {
	cols := strings.Split(userColumns, ", ")
	for i := range cols {
		cols[i] = alias + "." + cols[i]
	}
	return strings.Join(cols, ", ")
}

// scanUser scans userColumns and then, into more, whatever the query
// selected after them.
func scanUser(row interface{ Scan(...any) error }, more ...any) (User, error) {
	var u User
	var last, disabled sql.NullTime
	if err := row.Scan(append([]any{&u.ID, &u.Email, &u.Name, &u.Role, &u.MustChangePassword, &u.CreatedAt, &u.UpdatedAt, &last, &disabled, &u.NotifyDrafts, &u.NotifyOverdue, &u.SSO, &u.LocalPassword}, more...)...); err != nil {
		return User{}, err
	}
	u.LastSignInAt, u.DisabledAt = timePtr(last), timePtr(disabled)
	return u, nil
}

func getUser(ctx context.Context, q querier, id string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, &NotFoundError{Kind: "user", ID: id}
	}
	return u, err
}

// checkEmail normalises a user's address: the rule for every address Herald
// mails (checkAddress), where a single-label domain may stand, as in the
// first admin's admin@localhost.
func checkEmail(email string) (string, error) { return checkAddress(email, false) }

// CreateUser adds a user with a random one-time password, returned once;
// they must choose their own at first sign-in.
func (s *Store) CreateUser(ctx context.Context, in UserInput) (User, string, error) {
	var u User
	password := oneTimePassword()
	// Hash before taking the write lock: hashing is slow on purpose.
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, "", fmt.Errorf("store: create user: %w", err)
	}
	err = s.inTx(ctx, func(t *tx) error {
		var err error
		u, err = t.createUser(in, hash, ssoLink{})
		return err
	})
	if err != nil {
		return User{}, "", fmt.Errorf("store: create user: %w", err)
	}
	return u, password, nil
}

// createUser adds a user with a local password (hash) or, with link set
// and no hash, one who signs in through the OpenID provider only.
func (t *tx) createUser(in UserInput, hash string, link ssoLink) (User, error) {
	email, err := checkEmail(in.Email)
	if err != nil {
		return User{}, err
	}
	name, err := checkLine("name", in.Name, MaxNameLength, false)
	if err != nil {
		return User{}, err
	}
	if !in.Role.Valid() {
		return User{}, invalid("role", "unknown role %q; use one of %s", in.Role, joinValues(Roles))
	}
	if err := t.lock("user_email", email); err != nil {
		return User{}, err
	}
	var n int
	if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM users WHERE email = ?`, email).Scan(&n); err != nil {
		return User{}, err
	}
	if n > 0 {
		return User{}, invalid("email", "a user with the email %s already exists", email)
	}
	u := User{ID: newID(), Email: email, Name: name, Role: in.Role, MustChangePassword: hash != "", NotifyDrafts: true, NotifyOverdue: true, CreatedAt: t.now, UpdatedAt: t.now,
		SSO: link.Subject != "", LocalPassword: hash != ""}
	if _, err := t.exec(`INSERT INTO users (id, email, name, role, password_hash, must_change_password, sso_issuer, sso_subject, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.Role, hash, u.MustChangePassword, link.Issuer, link.Subject, u.CreatedAt, u.UpdatedAt); err != nil {
		return User{}, err
	}
	t.record("user.create", "user", u.ID, nil, u)
	if u.Role == RoleAdmin {
		if err := t.adoptOrphanTokens(u); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// adoptOrphanTokens gives the tokens made before any admin existed (the
// first-start token, tokens from before accounts) to admin.
func (t *tx) adoptOrphanTokens(admin User) error {
	rows, err := t.QueryContext(t.ctx, `SELECT id FROM api_tokens WHERE user_id IS NULL`)
	if err != nil {
		return fmt.Errorf("find unowned tokens: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := t.exec(`UPDATE api_tokens SET user_id = ? WHERE id = ?`, admin.ID, id); err != nil {
			return fmt.Errorf("adopt token %s: %w", id, err)
		}
		t.record("token.adopt", "api_token", id, map[string]any{"user_id": nil}, map[string]any{"user_id": admin.ID, "user_email": admin.Email})
	}
	return nil
}

// EnsureFirstAdmin creates an admin with a one-time password when the
// database has no user at all, and reports whether it did.
func (s *Store) EnsureFirstAdmin(ctx context.Context, email string) (User, string, bool, error) {
	n, err := s.CountUsers(ctx)
	if err != nil || n > 0 {
		return User{}, "", false, err
	}
	password := oneTimePassword()
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, "", false, fmt.Errorf("store: first admin: %w", err)
	}
	var u User
	created := false
	err = s.inTx(ctx, func(t *tx) error {
		// Checked again under the write lock: two starts must not make two.
		if err := t.lock("user", ""); err != nil {
			return err
		}
		var n int
		if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil || n > 0 {
			return err
		}
		var err error
		u, err = t.createUser(UserInput{Email: email, Name: "Administrator", Role: RoleAdmin}, hash, ssoLink{})
		created = err == nil
		return err
	})
	if err != nil {
		return User{}, "", false, fmt.Errorf("store: first admin: %w", err)
	}
	if !created {
		return User{}, "", false, nil
	}
	return u, password, true, nil
}

// GetUser returns one user.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	u, err := getUser(ctx, s.read, id)
	if err != nil {
		return User{}, fmt.Errorf("store: get user: %w", err)
	}
	return u, nil
}

// GetUserByEmail returns the user with that email (any case).
func (s *Store) GetUserByEmail(ctx context.Context, email string) (User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: get user: %w", &NotFoundError{Kind: "user", ID: email})
	}
	if err != nil {
		return User{}, fmt.Errorf("store: get user: %w", err)
	}
	return u, nil
}

// ListUsers returns every user, disabled ones included, by email.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return out, nil
}

// CountUsers counts users, disabled ones included.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// UpdateUser changes a user's name, role or whether they may sign in.
// Disabling a user ends their sessions. The last active admin can be
// neither demoted nor disabled: nobody could manage users after that.
func (s *Store) UpdateUser(ctx context.Context, id string, p UserPatch) (User, error) {
	var u User
	err := s.inTx(ctx, func(t *tx) error {
		before, err := getUser(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		u = before
		if p.Name != nil {
			if u.Name, err = checkLine("name", *p.Name, MaxNameLength, false); err != nil {
				return err
			}
		}
		if p.Role != nil {
			if !p.Role.Valid() {
				return invalid("role", "unknown role %q; use one of %s", *p.Role, joinValues(Roles))
			}
			u.Role = *p.Role
		}
		if p.Disabled != nil {
			switch {
			case *p.Disabled && u.DisabledAt == nil:
				now := t.now
				u.DisabledAt = &now
			case !*p.Disabled:
				u.DisabledAt = nil
			}
		}
		if p.NotifyDrafts != nil {
			u.NotifyDrafts = *p.NotifyDrafts
		}
		if p.NotifyOverdue != nil {
			u.NotifyOverdue = *p.NotifyOverdue
		}
		if u.Name == before.Name && u.Role == before.Role && (u.DisabledAt == nil) == (before.DisabledAt == nil) &&
			u.NotifyDrafts == before.NotifyDrafts && u.NotifyOverdue == before.NotifyOverdue {
			return nil // nothing changes
		}
		if err := t.keepAnAdmin(before, u); err != nil {
			return err
		}
		u.UpdatedAt = t.now
		if _, err := t.exec(`UPDATE users SET name = ?, role = ?, disabled_at = ?, notify_drafts = ?, notify_overdue = ?, updated_at = ? WHERE id = ?`,
			u.Name, u.Role, u.DisabledAt, u.NotifyDrafts, u.NotifyOverdue, u.UpdatedAt, id); err != nil {
			return err
		}
		if !u.Active() {
			if _, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
			// Nor do they go on hearing from the pages for signed-in
			// people as a subscriber.
			if err := t.dropUnheardEverywhere(AccessSignedIn); err != nil {
				return err
			}
		}
		t.record("user.update", "user", id, before, u)
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("store: update user: %w", err)
	}
	return u, nil
}

// keepAnAdmin refuses a change from before to after that would leave no
// active admin: nobody could manage users after that.
func (t *tx) keepAnAdmin(before, after User) error {
	if before.Role != RoleAdmin || !before.Active() || (after.Role == RoleAdmin && after.Active()) {
		return nil
	}
	// Two admins demoting each other at once must not both pass.
	if err := t.lock("user", ""); err != nil {
		return err
	}
	var others int
	if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> ?`, before.ID).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return &ConflictError{Message: "this is the last active admin; make another user admin first"}
	}
	return nil
}

// ResetPassword gives a user a new one-time password, returned once, and
// ends their sessions.
func (s *Store) ResetPassword(ctx context.Context, id string) (string, error) {
	password := oneTimePassword()
	hash, err := hashPassword(password)
	if err != nil {
		return "", fmt.Errorf("store: reset password: %w", err)
	}
	err = s.inTx(ctx, func(t *tx) error {
		before, err := getUser(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE users SET password_hash = ?, must_change_password = TRUE, updated_at = ? WHERE id = ?`, hash, t.now, id); err != nil {
			return err
		}
		if _, err := t.exec(`DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return err
		}
		after, err := getUser(t.ctx, t.sqlTx, id)
		if err != nil {
			return err
		}
		t.record("user.password_reset", "user", id, before, after)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: reset password: %w", err)
	}
	return password, nil
}

// ChangePassword replaces a user's password after checking the current one,
// and ends their other sessions (keepSession, a raw session id, survives).
func (s *Store) ChangePassword(ctx context.Context, id, current, next, keepSession string) error {
	if err := checkNewPassword("new_password", next); err != nil {
		return fmt.Errorf("store: change password: %w", err)
	}
	if current == next {
		return fmt.Errorf("store: change password: %w", invalid("new_password", "must differ from the current password"))
	}
	var stored string
	if err := s.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, id).Scan(&stored); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: change password: %w", &NotFoundError{Kind: "user", ID: id})
		}
		return fmt.Errorf("store: change password: %w", err)
	}
	if stored == "" {
		return fmt.Errorf("store: change password: %w", invalid("current_password", "you sign in through single sign-on and have no Herald password to change"))
	}
	ok, err := checkPassword(stored, current)
	if err != nil {
		return fmt.Errorf("store: change password: %w", err)
	}
	if !ok {
		return fmt.Errorf("store: change password: %w", invalid("current_password", "is not right"))
	}
	hash, err := hashPassword(next)
	if err != nil {
		return fmt.Errorf("store: change password: %w", err)
	}
	keep := sessionKey(keepSession)
	err = s.inTx(ctx, func(t *tx) error {
		return t.setPassword(id, hash, func() error {
			_, err := t.exec(`DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, id, keep)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("store: change password: %w", err)
	}
	return nil
}

// Authenticate checks an email and password and returns the user, or
// ErrBadCredentials whatever the reason. An unknown email costs the same
// hashing as a wrong password, so timing does not reveal which accounts exist.
func (s *Store) Authenticate(ctx context.Context, email, password string) (User, error) {
	if !checkable(password) {
		return User{}, ErrBadCredentials
	}
	var stored string
	u, err := scanUserWithHash(s.read.QueryRowContext(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))), &stored) // stored lower case (checkEmail)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = s.verifySignIn(dummyHash(), password)
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("store: authenticate: %w", err)
	}
	if stored == "" {
		// Single sign-on only: no password is right, and saying so
		// takes as long as a wrong one.
		_, _ = s.verifySignIn(dummyHash(), password)
		return User{}, ErrBadCredentials
	}
	ok, err := s.verifySignIn(stored, password)
	if err != nil {
		return User{}, fmt.Errorf("store: authenticate %s: %w", u.ID, err)
	}
	if !ok || !u.Active() {
		return User{}, ErrBadCredentials
	}
	now := s.now()
	if _, err := s.write.ExecContext(ctx, `UPDATE users SET last_sign_in_at = ? WHERE id = ?`, now, u.ID); err != nil {
		return User{}, fmt.Errorf("store: record sign-in: %w", err)
	}
	u.LastSignInAt = &now
	return u, nil
}

func scanUserWithHash(row *sql.Row, hash *string) (User, error) {
	return scanUser(row, hash)
}

// SetPassword sets a user's password directly, without the one-time step.
// For the CLI's scripted setups and for tests; people use ChangePassword.
func (s *Store) SetPassword(ctx context.Context, id, password string) error {
	if err := checkNewPassword("password", password); err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	err = s.inTx(ctx, func(t *tx) error { return t.setPassword(id, hash, nil) })
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	return nil
}

// setPassword stores a new password hash (ending any one-time password),
// runs also (if any) in the same transaction, and audits the change.
func (t *tx) setPassword(id, hash string, also func() error) error {
	before, err := getUser(t.ctx, t.sqlTx, id)
	if err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE users SET password_hash = ?, must_change_password = FALSE, updated_at = ? WHERE id = ?`, hash, t.now, id); err != nil {
		return err
	}
	if also != nil {
		if err := also(); err != nil {
			return err
		}
	}
	after, err := getUser(t.ctx, t.sqlTx, id)
	if err != nil {
		return err
	}
	t.record("user.password_change", "user", id, before, after)
	return nil
}
