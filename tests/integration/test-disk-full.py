#!/usr/bin/python3
# The disk refuses hpmond's writes (RLIMIT_FSIZE on the running daemon makes write()
# fail with EFBIG, as a full disk fails it with ENOSPC): hpmond stays up, says so once
# on stderr/journal and in Manager.Logging / `hpctl status`, keeps publishing current
# levels, queues the changes, and appends them in order once there is room again,
# retrying on its backoff timer. No torn line, nothing lost, nothing doubled. With no
# room even for a new file, a headset seen for the first time is followed all the same
# and its log made once there is room; a rename meanwhile is recorded in its turn.
import os
import resource
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

ADDR = 'AA:BB:CC:DD:EE:F1'
NAME = 'Full Disk Buds'
RENAMED = 'Full Disk Buds II'
NEW, NEW_NAME = 'AA:BB:CC:DD:EE:F2', 'First Seen Full'


def test(env):
    # RLIMIT_FSIZE limits every file hpmond writes, its captured stderr too: start from a
    # log with some history, well past the stderr file, so only the log hits the limit.
    history = list(range(90, 30, -1))
    devices = os.path.join(env.state_dir, 'devices')
    os.makedirs(devices, exist_ok=True)
    with open(os.path.join(devices, t.log_name(ADDR)), 'w') as f:
        f.write(f'# hpmon charge log v1\n# address={ADDR}\n# name={NAME}\ntime,event,value\n')
        f.write('1788220800.000,connected,1\n')
        for i, level in enumerate(history):
            f.write(f'{1788220800 + 60 * (i + 1)}.000,battery,{level}\n')
    env.mock.start()
    env.mock.add_headset(ADDR, NAME, connected=True, percentage=30)
    env.hpmond.start()
    path = env.wait_device(ADDR)
    env.wait_props(path, Percentage=30)
    check_equal(env.manager_props().get('Logging'), 'active', 'Manager.Logging is "active" at first')
    warmup = history + [30]

    log_path = env.log_path(ADDR)
    size = os.path.getsize(log_path)
    check(size > env.hpmond.stderr_size() + 600, 'the log is larger than hpmond\'s stderr file',
          f'{size} vs {env.hpmond.stderr_size()}')
    pid = env.hpmond.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, hard))
    note(f'hpmond may not grow a file past {size} bytes now')

    mark = env.mark()
    for level in (25, 20, 15):
        env.mock.set_percentage(ADDR, level)
        env.wait_props(path, Percentage=level, what=f'the API to show {level} % while the disk is full')
    env.wait_manager_published('Logging', 'suspended: disk full', mark)
    env.wait_manager_prop('PendingEvents', 3)
    check(True, 'Manager.Logging says "suspended: disk full" and 3 changes wait')
    check(env.hpmond.alive(), 'hpmond is still running')
    check_equal(os.path.getsize(log_path), size, 'the log did not grow (no partial line was left)')
    env.read_log(ADDR).check_well_formed(ADDR, NAME)

    st = env.hpctl('status')
    check('logging suspended: disk full' in st.stdout, '`hpctl status` says "logging suspended: disk full"', st.stdout)
    js = env.hpctl_json('status', '--json')
    check_equal((js.get('logging'), js.get('pending_events')), ('suspended: disk full', 3),
                '`hpctl status --json` carries logging and pending_events')

    errors = [l for l in env.hpmond.stderr_text().splitlines() if 'logging suspended' in l]
    check_equal(len(errors), 1, 'the suspension is said once, not once per change')

    mark = env.mark()
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
    note('room again: the limit is lifted')
    env.wait_manager_published('Logging', 'active', mark)
    check_equal(env.manager_props().get('PendingEvents'), 0, 'nothing waits any more')

    log = env.read_log(ADDR)
    log.check_well_formed(ADDR, NAME)
    check_equal(log.values('battery'), [*warmup, 25, 20, 15], 'the queued changes were appended in order, once each')
    env.wait_props(path, Percentage=15)

    env.mock.set_percentage(ADDR, 12)
    env.wait_props(path, Percentage=12)
    check_equal(env.read_log(ADDR).values('battery'), [*warmup, 25, 20, 15, 12], 'logging goes on as before')
    check('Logging resumed' in env.hpmond.stderr_text(), 'the resumption is said in the journal')

    # No room for even a new file: a headset seen for the first time is followed all the
    # same (its log is made when there is room), and a rename waits its turn in the queue.
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, hard))
    note('hpmond may not write a single byte now')
    mark = env.mark()
    env.mock.add_headset(NEW, NEW_NAME, connected=True, percentage=70)
    pn = env.wait_device(NEW)
    env.wait_props(pn, Connected=True, Percentage=70, what='the new headset is followed while no log can be made')
    env.wait_manager_published('Logging', 'suspended: disk full', mark)
    check(not os.path.exists(env.log_path(NEW)), 'no log for it yet (nor a half-written one)')
    env.mock.set_percentage(NEW, 65)
    env.wait_props(pn, Percentage=65)
    env.mock.set_device_prop(ADDR, 'Alias', RENAMED)
    env.wait_props(path, Name=RENAMED, what='the rename is published while the disk is full')
    env.mock.set_percentage(ADDR, 10)
    env.wait_props(path, Percentage=10)
    check_equal(os.path.getsize(log_path), len(env.read_log(ADDR).raw), 'nothing was written meanwhile')

    mark = env.mark()
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
    env.wait_manager_published('Logging', 'active', mark)
    new = env.read_log(NEW)
    new.check_well_formed(NEW, NEW_NAME)
    check_equal(new.values('battery'), [70, 65], 'the new headset\'s log was made, with its changes in order')
    log = env.read_log(ADDR)
    log.check_well_formed(ADDR, RENAMED)
    check_equal(log.values('battery'), [*warmup, 25, 20, 15, 12, 10], 'the renamed headset lost nothing')
    check(log.text.index(f'# name={RENAMED}') > log.text.index(',battery,12\n'),
          'the new name is recorded after what was logged before it')
    env.hpmond.stop()


t.run(test)
