package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/herald-status/herald/store"
)

// cmdUser manages console users from the command line: the way in when no
// admin can sign in.
func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("user: say add, list or reset-password")
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("herald user "+sub, stderr)
	db := dbFlag(fs)
	var email, role, name *string
	switch sub {
	case "add":
		email = fs.String("email", "", "the user's email, which they sign in with")
		role = fs.String("role", "", "admin, commander or viewer")
		name = fs.String("name", "", "the user's name (optional)")
	case "reset-password":
		email = fs.String("email", "", "the user's email")
	case "list":
	default:
		return fmt.Errorf("user: unknown subcommand %q; say add, list or reset-password", sub)
	}
	ctx, st, err := openForCLI(ctx, fs, args, db)
	if err != nil {
		return err
	}
	defer st.Close()

	switch sub {
	case "add":
		if *email == "" || *role == "" {
			return errors.New("user add: --email and --role are required")
		}
		u, password, err := st.CreateUser(ctx, store.UserInput{Email: *email, Name: *name, Role: store.Role(*role)})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created %s %s (%s). Their one-time password, shown only now, is on the next line; they choose their own at first sign-in:\n%s\n",
			u.Role, u.Email, u.ID, password)
		return nil
	case "reset-password":
		if *email == "" {
			return errors.New("user reset-password: --email is required")
		}
		u, err := st.GetUserByEmail(ctx, *email)
		if err != nil {
			return err
		}
		password, err := st.ResetPassword(ctx, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Signed %s out everywhere. Their new one-time password is on the next line:\n%s\n", u.Email, password)
		return nil
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEMAIL\tROLE\tSTATE\tLAST SIGN-IN")
	for _, u := range users {
		state := "active"
		if !u.Active() {
			state = "disabled"
		}
		last := "never"
		if u.LastSignInAt != nil {
			last = u.LastSignInAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Role, state, last)
	}
	return w.Flush()
}
