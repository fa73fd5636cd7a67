package main

import "syscall"

// childAttr makes a child process die with the harness, so that a crashed
// or killed harness leaves no server behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
