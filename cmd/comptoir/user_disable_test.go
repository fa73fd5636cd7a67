package main

import (
	"strings"
	"testing"
)

// An operator on the server can disable the account of a staff member who
// left (and enable it again), as the admin console does: the same rules
// hold (no customer, never the last enabled admin), refusals are one line
// and exit 2, and a disabled account gets no new API token.
func TestUserDisableAndEnable(t *testing.T) {
	env := storeEnv(t)
	if code, _, errOut := runCmd(t, env, "migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	for _, args := range [][]string{
		{"user", "add", "--email", "admin@shop.test", "--role", "admin"},
		{"user", "add", "--email", "agent@shop.test", "--role", "agent"},
		{"user", "add", "--email", "ana@example.fr", "--role", "customer"},
	} {
		if code, _, errOut := runCmd(t, env, args...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut)
		}
	}
	code, out, errOut := runCmd(t, env, "user", "disable", "--email", "Agent@shop.test")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "disabled agent agent@shop.test (usr_") {
		t.Fatalf("user disable: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "create", "--email", "agent@shop.test"}, "comptoir: agent@shop.test is disabled: enable it first (comptoir user enable)\n"},
		{[]string{"user", "disable", "--email", "admin@shop.test"}, "comptoir: admin@shop.test is the last enabled admin: add or enable another admin first\n"},
		{[]string{"user", "disable", "--email", "ana@example.fr"}, "comptoir: ana@example.fr is a customer: only an agent or admin can be disabled\n"},
		{[]string{"user", "enable", "--email", "nobody@shop.test"}, "comptoir: no user with email nobody@shop.test\n"},
		{[]string{"user", "disable"}, "comptoir: user disable needs --email\n"},
	} {
		code, out, errOut := runCmd(t, env, tc.args...)
		if code != 2 || out != "" || errOut != tc.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and only %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if code, out, errOut := runCmd(t, env, "user", "enable", "--email", "agent@shop.test"); code != 0 || !strings.HasPrefix(out, "enabled agent agent@shop.test") {
		t.Fatalf("user enable: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, env, "token", "create", "--email", "agent@shop.test"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("token create once enabled: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
