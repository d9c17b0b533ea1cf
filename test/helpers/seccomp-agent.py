#!/usr/bin/env python3
# A minimal seccomp agent for tests: accepts one connection on argv[1], receives the notify fd
# (SCM_RIGHTS) and the container process state JSON, answers every notification with the
# errno argv[3], and writes {"state": <json>, "nspid": <NSpid of the pid>, "answered": n} to argv[2]
# when the last user of the filter is gone (argv[2].state as soon as the message is in).
import array, fcntl, json, os, select, socket, struct, sys

path, out, errno_ = sys.argv[1], sys.argv[2], int(sys.argv[3])
NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif): 80 bytes
NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp): 24 bytes

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + '.tmp')
srv.listen(1)
os.rename(path + '.tmp', path)  # the test waits for this name: we listen already
conn, _ = srv.accept()
data, fds = b'', []
while True:
    msg, got, _flags, _addr = socket.recv_fds(conn, 1 << 20, 4)
    fds += got
    if not msg:
        break
    data += msg
state = json.loads(data)
nspid = ''
with open('/proc/%d/status' % state['pid']) as f:
    for line in f:
        if line.startswith('NSpid:'):
            nspid = line.split()[1:]
def dump(path, answered):
    with open(path + '.tmp', 'w') as f:
        json.dump({'state': state, 'fds': len(fds), 'nspid': nspid, 'answered': answered}, f)
    os.rename(path + '.tmp', path)

dump(out + '.state', 0)  # at once: the container may run for long
answered = 0
fd = fds[0]
p = select.poll()
p.register(fd, select.POLLIN)
while True:
    ev = p.poll(30000)
    if not ev or ev[0][1] & (select.POLLHUP | select.POLLERR) and not ev[0][1] & select.POLLIN:
        break
    buf = bytearray(80)
    try:
        fcntl.ioctl(fd, NOTIF_RECV, buf, True)
    except OSError:
        continue  # the task went away meanwhile
    nid = struct.unpack_from('Q', buf, 0)[0]
    resp = bytearray(struct.pack('QqiI', nid, 0, -errno_, 0))
    try:
        fcntl.ioctl(fd, NOTIF_SEND, resp, True)
        answered += 1
    except OSError:
        pass
dump(out, answered)
