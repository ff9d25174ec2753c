#!/usr/bin/env bash
# Users through the tulay CLI against the real tulayd: who may create, list and disable
# whom; disabled users and changed passwords end sessions; stale versions are refused.
set -uo pipefail
source "$(dirname "$0")/tap.sh" "$1"
export TULAY_SERVER
T=$TULAY_CLI
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
unset TULAY_PASSWORD TULAY_USERNAME

# login USER PASSWORD: unlike tap.sh's, with the password given (users made here).
login() { echo "$2" | as "$1" login --username "$1" --password-stdin >/dev/null 2>&1; }
P=$TULAY_TEST_PASSWORD
login admin "$P"
login officer "$P"

expect "admin creates an org admin" 0 'Created user demo.lead' -- \
	bash -c "echo 'lead-password-1' | TULAY_CONFIG_DIR='$home/admin' '$T' user add --username demo.lead --role org-admin --password-stdin"
login demo.lead lead-password-1
expect "the org admin creates a field officer in their organisation" 0 'field-officer' -- \
	bash -c "echo 'field-password-1' | TULAY_CONFIG_DIR='$home/demo.lead' '$T' user add --username field.one --role field-officer --password-stdin"
expect "the org admin cannot create an admin" 2 'PERMISSION_DENIED' -- \
	bash -c "echo 'admin-password-1' | TULAY_CONFIG_DIR='$home/demo.lead' '$T' user add --username evil.admin --role admin --password-stdin"
expect "the org admin cannot create users elsewhere" 2 'PERMISSION_DENIED' -- \
	bash -c "echo 'field-password-2' | TULAY_CONFIG_DIR='$home/demo.lead' '$T' user add --username kl.two --role field-officer --org MYNGO --password-stdin"
expect "a field officer cannot create users" 2 'PERMISSION_DENIED' -- \
	bash -c "echo 'field-password-3' | TULAY_CONFIG_DIR='$home/officer' '$T' user add --username field.three --role field-officer --password-stdin"
expect "a field officer cannot list users" 2 'PERMISSION_DENIED' -- as officer user list
expect "a taken username is refused, naming the field" 2 'ALREADY_EXISTS.*|--username' -- \
	bash -c "echo 'field-password-4' | TULAY_CONFIG_DIR='$home/admin' '$T' user add --username officer --role field-officer --password-stdin"
expect "a short password is refused, naming the field" 2 'password' -- \
	bash -c "echo 'short' | TULAY_CONFIG_DIR='$home/admin' '$T' user add --username field.short --role field-officer --password-stdin"
expect "an admin creates a user in another organisation" 0 'MYNGO' -- \
	bash -c "echo 'kl-password-1' | TULAY_CONFIG_DIR='$home/admin' '$T' user add --username kl.two --role field-officer --org MYNGO --password-stdin"
expect "the org admin lists their organisation's users" 0 'field\.one +field-officer +active' -- as demo.lead user list
expect "and does not see other organisations' users" 1 '^0$' -- \
	bash -c "TULAY_CONFIG_DIR='$home/demo.lead' '$T' user list | grep -c kl.two"
expect "users as CSV" 0 '^id,username,organisation,role,state,version' -- as demo.lead user list --format csv

login field.one field-password-1
expect "the new field officer works" 0 'REFERENCE|No claims' -- as field.one claim list
expect "a stale version is refused" 2 'FAILED_PRECONDITION' -- as demo.lead user disable field.one --expected-version 99
expect "nobody disables themselves" 2 'FAILED_PRECONDITION' -- as demo.lead user disable demo.lead
expect "the org admin disables the field officer" 0 'disabled' -- as demo.lead user disable field.one --expected-version 1
expect "the disabled user's session has ended" 2 'log in|expired|ended' -- as field.one claim list
match "and it is ended in the database too (not only refused)" '^0$' \
	"$(super -c "SELECT count(*) FROM sessions s JOIN users u USING (user_id) WHERE u.username = 'field.one' AND s.ended_at IS NULL")"
expect "and they cannot log in" 2 'UNAUTHENTICATED' -- \
	bash -c "echo 'field-password-1' | TULAY_CONFIG_DIR='$home/field.one' '$T' login --username field.one --password-stdin"
expect "disabling twice says so" 2 'already disabled' -- as demo.lead user disable field.one --expected-version 2

# passwd: two sessions of one user; changing the password in one ends the other.
login kl.two kl-password-1
TULAY_CONFIG_DIR="$home/kl.two.b" bash -c "echo kl-password-1 | '$T' login --username kl.two --password-stdin" >/dev/null
expect "a wrong current password is refused" 2 'current' -- \
	bash -c "printf 'wrong-password\nkl-password-2\n' | TULAY_CONFIG_DIR='$home/kl.two' '$T' passwd --password-stdin"
expect "passwd changes the password" 0 'Password changed' -- \
	bash -c "printf 'kl-password-1\nkl-password-2\n' | TULAY_CONFIG_DIR='$home/kl.two' '$T' passwd --password-stdin"
expect "the session that changed it goes on" 0 '' -- as kl.two claim list
expect "the user's other session has ended" 2 'log in|expired|ended' -- \
	env TULAY_CONFIG_DIR="$home/kl.two.b" "$T" claim list
expect "the old password no longer works" 2 'UNAUTHENTICATED' -- \
	bash -c "echo 'kl-password-1' | TULAY_CONFIG_DIR='$home/x' '$T' login --username kl.two --password-stdin"
expect "the new one does" 0 'Logged in' -- \
	bash -c "echo 'kl-password-2' | TULAY_CONFIG_DIR='$home/x' '$T' login --username kl.two --password-stdin"

finish
