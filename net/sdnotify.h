/* dmutex net: the service manager's readiness protocol (sd_notify), spoken
 * directly so that dmutexd needs no libsystemd.
 *
 * When $NOTIFY_SOCKET names a Unix datagram socket (a path, or "@name" for
 * the abstract namespace), each call sends one datagram of newline-separated
 * VAR=VALUE assignments ("READY=1", "STATUS=...", "STOPPING=1"); without it
 * nothing is sent. dmutexd is "ready" once its transport is bound and its
 * control socket accepts sessions; recovery after a start without state is
 * reported in STATUS=, not by delaying READY=1 (dmutexctl can then say why
 * a lock is refused).
 */
#ifndef DMUTEX_NET_SDNOTIFY_H
#define DMUTEX_NET_SDNOTIFY_H

/* Send `state` to $NOTIFY_SOCKET. Returns 1 when sent, 0 when the variable
 * is unset or empty, -errno when the address is unusable or sending failed
 * (the caller logs it; the daemon keeps running). */
int dmn_sd_notify(const char *state);

#endif
