package templates

import "testing"

func TestLabelsWordMessages(t *testing.T) {
	for _, tc := range []struct {
		labels     Labels
		field, msg string
		want       string
	}{
		{IncidentLabels, "name", "is required", "Title is required"},
		{IncidentLabels, "impact", `unknown impact "huge"; use one of none, minor`, `Impact: unknown impact "huge"; use one of none, minor`},
		{MaintenanceLabels, "scheduled_until", "must be after scheduled_for", "Ends must be after “Starts”"},
		{PostmortemLabels, "actions.2.description", "is required when an owner or due date is given", "Action 3 is required when an owner or due date is given"},
		{PostmortemLabels, "actions.0.due_date", `"soon" is not a date like 2026-12-31`, `Action 1 due date: "soon" is not a date like 2026-12-31`},
		{SettingsLabels, "publish_after.critical", "is 5 min, shorter than remind_after (10 min)", "Critical impact is 5 min, shorter than “Remind the team of a draft after” (10 min)"},
		{SettingsLabels, "publish_after.none", "must be a whole number of minutes", "No impact must be a whole number of minutes"},
		{TokenLabels, "name", "is required", "What it is for is required"},
		{Labels{}, "group_id", "has no group", "Group id has no group"},
		{Labels{}, "", "something went wrong", "Something went wrong"},
	} {
		if got := tc.labels.Message(tc.field, tc.msg); got != tc.want {
			t.Errorf("Message(%q, %q) = %q, want %q", tc.field, tc.msg, got, tc.want)
		}
	}
}
