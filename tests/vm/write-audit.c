/* SPDX-License-Identifier: MIT */
/* write-audit LOG COMMAND [ARGS...]: runs COMMAND (and every process and
 * thread it starts) under ptrace and writes to LOG one line per system call
 * that can change a file system object or a device:
 *
 *   OP PATH
 *
 * OP is open-w (open/openat/openat2/creat for writing, creating or
 * truncating), mkdir, mknod, rename (the target; the source as rename-from),
 * unlink, rmdir, link, symlink, chmod, chown, truncate, bind (a Unix socket
 * path), ioctl (on a descriptor, with its path). Relative paths are resolved
 * against the caller's cwd or directory descriptor, /proc/self/fd/N to the
 * descriptor's file (/proc/PID/...). Exits
 * with COMMAND's status; SIGTERM, SIGINT and SIGHUP are passed on to it. The
 * security VM scenario checks the lines against
 * where homi may write; a static program (run-vm builds tests/vm/NAME.c
 * itself), x86_64 only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE *logf_;
static pid_t child;

/* SIGTERM, SIGINT, SIGHUP to the tracer go to the command. */
static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* Reads a NUL-terminated string of PID at ADDR. */
static void peek_string(pid_t pid, unsigned long addr, char *buf, size_t len)
{
	struct iovec local = { buf, len - 1 }, remote = { (void *)addr, len - 1 };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	buf[n > 0 ? (size_t)n : 0] = '\0';
	buf[len - 1] = '\0';
}

static bool peek(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* The absolute form of PATH as PID sees it from directory descriptor DIRFD. */
static void resolve(pid_t pid, long dirfd, const char *path, char *out, size_t len)
{
	char link[64], base[4096];
	ssize_t n;

	if (path[0] == '/') {
		int fd;
		/* a descriptor's magic link (chown through an O_PATH fd): its file */
		if (sscanf(path, "/proc/self/fd/%d", &fd) == 1 || sscanf(path, "/proc/thread-self/fd/%d", &fd) == 1) {
			snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fd);
			n = readlink(link, base, sizeof(base) - 1);
			base[n > 0 ? (size_t)n : 0] = '\0';
			snprintf(out, len, "%s", n > 0 ? base : path);
			return;
		}
		snprintf(out, len, "%s", path);
		return;
	}
	if ((int)dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", pid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, (int)dirfd);
	n = readlink(link, base, sizeof(base) - 1);
	base[n > 0 ? (size_t)n : 0] = '\0';
	snprintf(out, len, "%s%s%s", base, *path ? "/" : "", path);
}

static void log_path(pid_t pid, const char *op, long dirfd, unsigned long addr)
{
	char path[4096], abs[8192];

	peek_string(pid, addr, path, sizeof(path));
	resolve(pid, dirfd, path, abs, sizeof(abs));
	fprintf(logf_, "%s %s\n", op, abs);
}

static void log_fd(pid_t pid, const char *op, long fd)
{
	char abs[8192];

	resolve(pid, fd, "", abs, sizeof(abs));
	fprintf(logf_, "%s %s\n", op, abs);
}

static bool writes(long flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
}

/* One system call entry of PID with registers R. */
static void audit(pid_t pid, const struct user_regs_struct *r)
{
	long a0 = (long)r->rdi, a1 = (long)r->rsi, a2 = (long)r->rdx, a3 = (long)r->r10;

	switch (r->orig_rax) {
	case SYS_open: if (writes(a1)) log_path(pid, "open-w", AT_FDCWD, a0); break;
	case SYS_creat: log_path(pid, "open-w", AT_FDCWD, a0); break;
	case SYS_openat: if (writes(a2)) log_path(pid, "open-w", a0, a1); break;
	case SYS_openat2: {
		struct open_how how;
		if (peek(pid, a2, &how, sizeof(how)) && writes((long)how.flags))
			log_path(pid, "open-w", a0, a1);
		break;
	}
	case SYS_mkdir: log_path(pid, "mkdir", AT_FDCWD, a0); break;
	case SYS_mkdirat: log_path(pid, "mkdir", a0, a1); break;
	case SYS_mknod: log_path(pid, "mknod", AT_FDCWD, a0); break;
	case SYS_mknodat: log_path(pid, "mknod", a0, a1); break;
	case SYS_rename:
		log_path(pid, "rename-from", AT_FDCWD, a0);
		log_path(pid, "rename", AT_FDCWD, a1);
		break;
	case SYS_renameat:
	case SYS_renameat2:
		log_path(pid, "rename-from", a0, a1);
		log_path(pid, "rename", a2, a3);
		break;
	case SYS_unlink: log_path(pid, "unlink", AT_FDCWD, a0); break;
	case SYS_unlinkat: log_path(pid, (a2 & AT_REMOVEDIR) ? "rmdir" : "unlink", a0, a1); break;
	case SYS_rmdir: log_path(pid, "rmdir", AT_FDCWD, a0); break;
	case SYS_link: log_path(pid, "link", AT_FDCWD, a1); break;
	case SYS_linkat: log_path(pid, "link", a2, a3); break;
	case SYS_symlink: log_path(pid, "symlink", AT_FDCWD, a1); break;
	case SYS_symlinkat: log_path(pid, "symlink", a1, a2); break;
	case SYS_chmod: log_path(pid, "chmod", AT_FDCWD, a0); break;
	case SYS_fchmod: log_fd(pid, "chmod", a0); break;
	case SYS_fchmodat: log_path(pid, "chmod", a0, a1); break;
	case SYS_chown:
	case SYS_lchown: log_path(pid, "chown", AT_FDCWD, a0); break;
	case SYS_fchown: log_fd(pid, "chown", a0); break;
	case SYS_fchownat: log_path(pid, "chown", a0, a1); break;
	case SYS_truncate: log_path(pid, "truncate", AT_FDCWD, a0); break;
	case SYS_ftruncate: log_fd(pid, "truncate", a0); break;
	case SYS_ioctl: log_fd(pid, "ioctl", a0); break;
	case SYS_bind: {
		struct sockaddr_un sa = { 0 };
		socklen_t len = (socklen_t)a2;
		if (len > sizeof(sa))
			len = sizeof(sa);
		if (peek(pid, a1, &sa, len) && sa.sun_family == AF_UNIX && sa.sun_path[0]) {
			sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
			char abs[8192];
			resolve(pid, AT_FDCWD, sa.sun_path, abs, sizeof(abs));
			fprintf(logf_, "bind %s\n", abs);
		}
		break;
	}
	default:
		break;
	}
}

int main(int argc, char **argv)
{
	pid_t pid;
	int status, exit_status = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: write-audit LOG COMMAND [ARGS...]\n");
		return 2;
	}
	logf_ = fopen(argv[1], "we");
	if (!logf_) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(logf_, NULL, _IOLBF, 0);
	child = fork();
	if (child == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) {
		perror("write-audit: ptrace");
		return 1;
	}
	struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	ptrace(PTRACE_SETOPTIONS, child, 0,
	       PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
		       PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
	ptrace(PTRACE_SYSCALL, child, 0, 0);
	/* Entry and exit stops alternate per thread; only entries are audited.
	 * The parity is kept per thread id in a small table. */
	static struct { pid_t pid; bool in; } state[4096];
	for (;;) {
		int sig = 0;

		pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break; /* no tracee left */
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == child)
				exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			size_t k = (size_t)pid % (sizeof(state) / sizeof(state[0]));
			if (state[k].pid != pid)
				state[k].pid = pid, state[k].in = false;
			state[k].in = !state[k].in;
			if (state[k].in) {
				struct user_regs_struct regs;
				if (ptrace(PTRACE_GETREGS, pid, 0, &regs) == 0)
					audit(pid, &regs);
			}
		} else if (WSTOPSIG(status) == SIGTRAP || WSTOPSIG(status) == SIGSTOP) {
			/* fork/clone/exec events, new threads' first stop */
		} else {
			sig = WSTOPSIG(status); /* a real signal: deliver it */
		}
		ptrace(PTRACE_SYSCALL, pid, 0, sig);
	}
	fclose(logf_);
	return exit_status;
}
