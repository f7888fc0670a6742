#!/usr/bin/python3
# Damaged and odd logs, once known bugs (each case says "ok" or "# BUG"; any bug fails it):
#   1. A log cut in the middle of its header ("# hpmon charge log v1\n# address=…\n# na")
#      loses the torn line and keeps no "time,event,value" header: hpmond appends events
#      under the comments, so the log is no longer a v1 log and every later replay warns
#      "missing header" (lib/chargelog.c, chargelog_open() writes the header only into
#      an empty file).
#   2. A log named in lower case (aa_bb_cc_dd_ee_0c.csv) is replayed as AA:BB:CC:DD:EE:0C,
#      but appends go to a new AA_BB_CC_DD_EE_0C.csv beside it: the history is split,
#      and which file wins at the next start depends on readdir() order
#      (daemon/registry.c, registry_load_one() accepts any case; chargelog_open() uses
#      the canonical name).
#   3. GetHistory(0) of a long log (here 1.6 million events, 51 MB): the reply is larger
#      than dbus-daemon takes (32 MiB by default), the bus drops hpmond's connection and
#      hpmond exits — any user may call GetHistory (daemon/service.c,
#      method_get_history() has no bound on the reply).
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import case, note  # noqa: E402

dbus = t.dbus
HALFHEAD = 'AA:BB:CC:DD:EE:03'
LOWER = 'AA:BB:CC:DD:EE:0C'
LONG = 'AA:BB:CC:DD:EE:06'
LONG_EVENTS = 1600000


def test(env):
    now = int(time.time())
    devdir = os.path.join(env.state_dir, 'devices')
    os.makedirs(devdir)
    with open(os.path.join(devdir, t.log_name(HALFHEAD)), 'w') as f:
        f.write(f'# hpmon charge log v1\n# address={HALFHEAD}\n# na')
    with open(os.path.join(devdir, t.log_name(LOWER).lower()), 'w') as f:
        f.write(f'# hpmon charge log v1\n# address={LOWER}\n# name=Lower\ntime,event,value\n{now - 50}.000,battery,12\n')
    with open(os.path.join(devdir, t.log_name(LONG)), 'w') as f:
        f.write(f'# hpmon charge log v1\n# address={LONG}\n# name=Long\ntime,event,value\n')
        start = now - LONG_EVENTS * 60
        block = ''.join(f'{start + 60 * i}.000,battery,{i % 100}\n' for i in range(10000))
        for _ in range(LONG_EVENTS // 10000):
            f.write(block)
    env.mock.start()
    env.hpmond.start()
    env.mock.add_headset(HALFHEAD, 'Half Head', connected=True, percentage=66)
    env.mock.add_headset(LOWER, 'Lower', connected=True, percentage=54)
    env.wait_props(env.wait_device(HALFHEAD), Connected=True, Percentage=66)
    env.wait_props(env.wait_device(LOWER), Connected=True, Percentage=54)
    env.barrier()

    log = env.read_log(HALFHEAD)
    case(log.header == 'time,event,value' and not log.bad,
         'a log cut inside its header gets its "time,event,value" line back before the first append',
         repr(log.text))
    files = sorted(os.listdir(devdir))
    case(not (t.log_name(LOWER) in files and t.log_name(LOWER).lower() in files),
         'a log named in lower case gets no second, upper-case log beside it', files)

    path = t.device_path(LONG)
    t0 = time.monotonic()
    try:
        r = env.call(path, t.DEVICE_IFACE, 'GetHistory', 'd', (dbus.Double(0.0),), timeout=t.TIMEOUT * 3)
        note(f'GetHistory(0) of {LONG_EVENTS} events: {len(r)} events in {time.monotonic() - t0:.1f}s')
    except dbus.DBusException as e:
        note(f'GetHistory(0) of {LONG_EVENTS} events: {e.get_dbus_name()}: {e.get_dbus_message()}')
    env.hpmond.unguard()
    alive = env.hpmond.alive() and env.name_owner(t.BUS_NAME) != ''
    case(alive, f'hpmond stays on the bus after GetHistory(0) of a log of {LONG_EVENTS} events',
         env.hpmond.stderr_tail())
    if alive:
        env.hpmond.stop()
    else:
        env.hpmond.proc.end()
    t.check_no_bugs()


t.run(test)
