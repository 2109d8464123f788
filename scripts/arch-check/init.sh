#!/bin/sh
# /init of the guest that scripts/verify-arch boots: runs /codex's sandbox on this kernel as
# root and as uid 1000, on every Linux route, with /probe inside, and prints one PASS or FAIL
# line per check, then `ARCH-CHECK DONE pass=N fail=M` and powers off.
export PATH=/bin
if [ "$1" != on-tmpfs ]; then
    /bin/busybox --install -s /bin
    # pivot_root(2) cannot leave the initramfs's rootfs (EINVAL), as bubblewrap and our
    # namespace route must: move to a tmpfs root first, as a real system's root would be.
    mkdir /newroot
    mount -t tmpfs -o mode=755 root /newroot
    cp -a /bin /etc /init /codex /probe /usr /lib /newroot/
    [ -e /compat_probe ] && cp -a /compat_probe /newroot/
    mkdir /newroot/dev /newroot/proc /newroot/sys /newroot/tmp
    exec switch_root /newroot /init on-tmpfs
fi
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
ip link set lo up
echo "ARCH-CHECK START $(uname -m) $(uname -r)"
# Debian's bubblewrap, when the image carries it: the system-bwrap route is checked too.
routes="default builtin no-namespaces"
if bwrap_version=$(/usr/bin/bwrap --version 2>&1); then
    echo "== $bwrap_version at /usr/bin/bwrap"
    routes="$routes bubblewrap"
fi

pass=0
fail=0
# check WANT LABEL COMMAND...: WANT is ok, denied (EACCES, EPERM, EROFS or EXDEV), fails (any
# errno: a protected name that exists as a read-only mount point answers EEXIST to mkdir) or
# one errno.
check() {
    want=$1
    label=$2
    shift 2
    got=$("$@" 2>/tmp/check.err)
    rc=$?
    class=$got
    case "$got" in
        EACCES | EPERM | EROFS | EXDEV) [ "$want" = denied ] && class=denied ;;
    esac
    case "$got" in E*) [ "$want" = fails ] && class=fails ;; esac
    if [ "$class" = "$want" ]; then
        pass=$((pass + 1))
        echo "PASS $label: $got"
    else
        fail=$((fail + 1))
        echo "FAIL $label: want $want, got '$got' (exit $rc) $(head -c 400 /tmp/check.err | tr '\n' ' ')"
    fi
}

# hup_ignored FILE COMMAND...: starts COMMAND (which makes FILE, then sleeps) ignoring SIGHUP,
# sends it SIGHUP once FILE exists (the command runs, its helper waits for it or has become it),
# and prints what it printed once it has ended.
hup_ignored() {
    file=$1
    shift
    rm -f "$file"
    sh -c 'trap "" HUP && exec "$@"' sh "$@" >/tmp/hup.out &
    started=$!
    tries=0
    while [ ! -e "$file" ] && [ $tries -lt 500 ]; do
        sleep 0.02
        tries=$((tries + 1))
    done
    kill -HUP $started
    wait $started
    cat /tmp/hup.out
}

echo data >/etc/outside-root
echo data >/etc/outside-user
chown 1000:1000 /etc/outside-user
nc -ll -p 9999 -e /bin/true </dev/null >/dev/null 2>&1 &

# The probe itself can do what the sandbox must stop (or the checks below prove nothing).
check ok "unsandboxed ptrace" /probe ptrace
check ok "unsandboxed io_uring" /probe io_uring
check ok "unsandboxed inet socket" /probe socket inet
check ok "unsandboxed write outside" /probe write /etc/outside-root
check ok "unsandboxed chmod outside" /probe chmod /etc/outside-root

# setup DIR UID: a workspace (a repository: .git with HEAD) and two CODEX_HOMEs (network off,
# network on) owned by UID.
setup() {
    mkdir -p "$1/ws/.git" "$1/ws/src" "$1/home" "$1/home-net"
    echo "ref: refs/heads/main" >"$1/ws/.git/HEAD"
    echo data >"$1/ws/file"
    printf '[sandbox_workspace_write]\nnetwork_access = true\n' >"$1/home-net/config.toml"
    chown -R "$2:$2" "$1"
}
setup /tmp/root 0
setup /tmp/user 1000

for who in root user; do
    dir=/tmp/$who
    ws=$dir/ws
    outside=/etc/outside-$who
    if [ $who = root ]; then as=""; else as="/probe as 1000"; fi
    for route in $routes; do
        if [ $route = default ]; then force=""; else force=$route; fi
        tag="$who/$route"
        sb="env HOME=$dir/home CODEX_HOME=$dir/home CODEX_LINUX_SANDBOX_FORCE=$force /codex sandbox linux -C $ws"
        sbnet="env HOME=$dir/home CODEX_HOME=$dir/home-net CODEX_LINUX_SANDBOX_FORCE=$force /codex sandbox linux -C $ws"
        route_line=$($as env CODEX_HOME=$dir/home /codex sandbox explain --full-auto -C "$ws" "$ws" 2>&1 | grep -m1 "linux route")
        [ $route = default ] && echo "== $who: $route_line"
        ro="$as $sb -s read-only --"
        check ok "$tag read-only: read outside" $ro /probe read $outside
        check denied "$tag read-only: write outside" $ro /probe write $outside
        check denied "$tag read-only: create in workspace" $ro /probe create "$ws/new-ro"
        # A death by signal passes through (the helper ends by it, not by exit code 128 + N),
        # with mount points to remove afterwards (workspace-write) and without (read-only),
        # and the command keeps the core-size limit it was started with.
        check signal-15 "$tag read-only: a death by signal" /probe waitsig $ro sh -c 'kill -TERM $$'
        check signal-15 "$tag workspace-write: a death by signal" /probe waitsig $as $sb --full-auto -- sh -c 'kill -TERM $$'
        check 2468 "$tag read-only: core-size limit" sh -c 'ulimit -c 2468 && exec "$@"' sh $ro sh -c 'ulimit -c'

        ww="$as $sb --full-auto --"
        # Without namespaces a writable root is granted entry by entry: nothing can be made
        # directly in it, and chmod of one's own files elsewhere is not mediated (both are
        # the documented limits of that mode).
        # (Where Landlock is too old for our route, every route uses namespaces.) Only a
        # namespace (or root) can empty the capability bounding set; the other sets are
        # always empty.
        per_entry=no
        case "$route_line" in *Landlock*) [ $route = no-namespaces ] && per_entry=yes ;; esac
        if [ $per_entry = yes ]; then top=denied; own_chmod=ok; else top=ok; own_chmod=denied; fi
        # SIGHUP to a helper started ignoring it (as under nohup) stops nothing, where the
        # helper waits for the command (mount points for the missing .codex) and elsewhere.
        check done "$tag workspace-write: SIGHUP started ignored" hup_ignored "$ws/src/hup-$route" $ww sh -c 'touch "$0"; sleep 1; echo done' "$ws/src/hup-$route"
        check ok "$tag workspace-write: create in workspace" $ww /probe create "$ws/src/new-$route"
        check $top "$tag workspace-write: create at the workspace's top" $ww /probe create "$ws/new-$route"
        check ok "$tag workspace-write: write in workspace" $ww /probe write "$ws/file"
        check $top "$tag workspace-write: create in /tmp" $ww /probe create "/tmp/$who-$route"
        check denied "$tag workspace-write: write .git/HEAD" $ww /probe write "$ws/.git/HEAD"
        check denied "$tag workspace-write: create in .git" $ww /probe create "$ws/.git/x"
        check fails "$tag workspace-write: mkdir missing .codex" $ww /probe mkdir "$ws/.codex"
        check fails "$tag workspace-write: create in missing .codex" $ww /probe create "$ws/.codex/x"
        check fails "$tag workspace-write: mkdir /tmp/.git" $ww /probe mkdir /tmp/.git
        check denied "$tag workspace-write: write outside" $ww /probe write $outside
        check $own_chmod "$tag workspace-write: chmod own file outside" $ww /probe chmod $outside
        check denied "$tag workspace-write: truncate outside" $ww /probe truncate $outside
        check denied "$tag workspace-write: hard link outside file in" $ww /probe link $outside "$ws/l-$route"
        check denied "$tag workspace-write: rename out of workspace" $ww /probe rename "$ws/file" /etc/moved
        check denied "$tag workspace-write: mount" $ww /probe mount "$ws"
        check denied "$tag workspace-write: remount writable in new namespaces" $ww /probe escape $outside
        check EPERM "$tag workspace-write: ptrace" $ww /probe ptrace
        check EPERM "$tag workspace-write: io_uring" $ww /probe io_uring
        check EPERM "$tag workspace-write: inet socket, network off" $ww /probe socket inet
        check EPERM "$tag workspace-write: inet6 socket, network off" $ww /probe socket inet6
        check EPERM "$tag workspace-write: raw socket" $ww /probe socket raw
        check EPERM "$tag workspace-write: vsock socket" $ww /probe socket vsock
        check ok "$tag workspace-write: unix socket" $ww /probe socket unix
        check ok "$tag workspace-write: no_new_privs" $ww /probe nnp
        bounding=
        [ $who = user ] && [ $per_entry = yes ] && bounding=keep-bounding
        check ok "$tag workspace-write: no capabilities" $ww /probe caps $bounding
        check EBADF "$tag workspace-write: inherited descriptor closed" $ww /probe fd 7 7<$outside
        net="$as $sbnet --full-auto --"
        check ok "$tag network on: connect to 127.0.0.1" $net /probe connect 9999
        check EPERM "$tag network on: vsock socket" $net /probe socket vsock
        check EPERM "$tag network on: ptrace" $net /probe ptrace
    done
done
# A 32-bit Arm program (AArch32, which these kernels run through CONFIG_COMPAT) must not get
# past the filter: its calls carry another audit architecture, and the filter kills the
# process (exit 128 + SIGSYS = 159 as the shell reports it) instead of reading the numbers as
# arm64 ones. Unsandboxed, its call must reach the kernel, or this proves nothing.
if [ -x /compat_probe ]; then
    base=$(/compat_probe 2>&1)
    case "$base" in
        -38 | -1 | "") echo "SKIP 32-bit Arm programs: unsandboxed the probe printed '$base'" ;;
        *)
            pass=$((pass + 1))
            echo "PASS unsandboxed 32-bit Arm call reaches the kernel: $base"
            for who in root user; do
                if [ $who = root ]; then as=""; else as="/probe as 1000"; fi
                for route in $routes; do
                    if [ $route = default ]; then force=""; else force=$route; fi
                    got=$($as env HOME=/tmp/$who/home CODEX_HOME=/tmp/$who/home CODEX_LINUX_SANDBOX_FORCE=$force /codex sandbox linux -C /tmp/$who/ws --full-auto -- /compat_probe 2>/dev/null)
                    rc=$?
                    if [ -z "$got" ] && [ $rc = 159 ]; then
                        pass=$((pass + 1))
                        echo "PASS $who/$route 32-bit Arm call: killed (exit $rc)"
                    else
                        fail=$((fail + 1))
                        echo "FAIL $who/$route 32-bit Arm call: want killed (exit 159), got '$got' (exit $rc)"
                    fi
                done
            done
            ;;
    esac
fi
# The helper leaves their removal to a janitor process and exits without waiting for it.
check ok "mount points removed" sh -c 'for i in 1 2 3 4 5 6; do [ ! -e /tmp/.git ] && [ ! -e /tmp/root/ws/.codex ] && [ ! -e /tmp/user/ws/.codex ] && echo ok && exit; sleep 1; done'
echo "ARCH-CHECK DONE pass=$pass fail=$fail"
poweroff -f
