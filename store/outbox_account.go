package store

import (
	"slices"
	"time"
)

// Account notices: emails to one user about their own account, which a
// person must hear of even when it was not their doing (an admin reset
// their second factors). Never to subscribers or webhooks; sent to the
// user whatever their role, while the account is active.

// JobAccountFactorsReset tells a user an admin reset their second factors.
const JobAccountFactorsReset = "account.factors_reset"

// AccountJobKinds are the kinds of account notices.
var AccountJobKinds = []string{JobAccountFactorsReset}

// IsAccountKind reports whether a job kind is an account notice.
func IsAccountKind(kind string) bool { return slices.Contains(AccountJobKinds, kind) }

// AccountNotice is what an account notice says.
type AccountNotice struct {
	Email string    `json:"email"` // the account's
	By    string    `json:"by"`    // who did it, as the audit log names them
	At    time.Time `json:"at"`
	// What was taken away.
	App      bool `json:"app,omitempty"`
	Passkeys int  `json:"passkeys,omitempty"`
}

// notifyAccount queues an account notice to user userID.
func (t *tx) notifyAccount(kind, userID string, n AccountNotice) {
	t.jobs = append(t.jobs, pendingJob{Job: Job{Kind: kind, ObjectType: "user", ObjectID: userID, Components: []string{},
		Payload: JobPayload{Account: &n}}, email: true})
}

// expandAccountEmail makes an account notice's one delivery, to the user
// it is about; and a viewer's sign-in link's, to the link (viewer.go).
func (t *tx) expandAccountEmail(jobID int64, userID string) (int, error) {
	res, err := t.exec(`INSERT INTO outbox_deliveries (job_id, channel, recipient_id, state, next_attempt_at, created_at)
		VALUES (?, 'email', ?, 'pending', ?, ?) ON CONFLICT DO NOTHING`, jobID, userID, t.now, t.now)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
