#!/usr/bin/python3
# A headset (or a broken bluetoothd) floods hpmond with thousands of changes a second.
#
# The contract (README, "What is promised"): per device hpmond takes a burst of 10
# changes, then one a second; what comes faster is coalesced — only the latest value is
# kept, and it is logged and published when the bucket allows, on a timer.  So:
#   - the log grows by at most burst + 1/s × duration + a few lines;
#   - the held value goes out while the flood goes on (a throttle, not a debounce that
#     would starve until the flood stops): at least burst + duration − a few reports;
#   - hpmond's VmRSS stays within a few MiB of its value before the flood (not checked
#     under AddressSanitizer, whose quarantine keeps freed memory);
#   - when the flood stops, the latest value wins: the API and the log end with the
#     mock's last level and connection state (waited for through PropertiesChanged);
#   - another headset is not delayed: its changes during the flood are published
#     within a fraction of the one-second period, each one logged.
# Then the same flood of Alias changes: names are changes too, and each logged as a
# "# name=" line, so the same bound applies to the log.
#
# The flood is generated inside the mock (a method of the test's own that emits
# PropertiesChanged in a loop, paced to a rate), so no round trip slows it, and sent to
# hpmond alone so that the test's own connection is not flooded too (hpmond's matches
# take a signal addressed to it like a broadcast).
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

dbus = t.dbus
FLOODER = ('AA:BB:CC:DD:EE:0F', 'Chatty Buds')
QUIET = ('AA:BB:CC:DD:EE:01', 'WH-1000XM4')
BURST, PER_SECOND = 10, 1
RATE = 5000               # changes a second
FLOOD_SECONDS = 4.0
CHUNK = 100               # changes per call of the mock: other calls get their turn between
SLACK = 3
RSS_SLACK_KIB = 4 * 1024
QUIET_LATENCY = 0.5       # seconds; a global limiter would take 1

# args: path, first index, count, destination, rate, kind ("battery" or "alias").
# Levels run through 0..98 (99 and 100 never occur in a flood); every tenth battery
# change is a connection toggle instead.
FLOOD = r'''
import time as _time
p, first, n, dest, rate, kind = str(args[0]), int(args[1]), int(args[2]), str(args[3]), float(args[4]), str(args[5])
conn = objects["/"].connection
d = objects[p]
if not hasattr(d, "flood_t0"):
    d.flood_t0 = _time.monotonic()
for k in range(first, first + n):
    m = dbus.lowlevel.SignalMessage(p, "org.freedesktop.DBus.Properties", "PropertiesChanged")
    m.set_destination(dest)
    if kind == "alias":
        iface, prop, val = "org.bluez.Device1", "Alias", dbus.String(f"Chatty Buds {k}", variant_level=1)
    elif k % 10 == 9:
        iface, prop, val = "org.bluez.Device1", "Connected", dbus.Boolean((k // 10) % 2 == 1, variant_level=1)
    else:
        iface, prop, val = "org.bluez.Battery1", "Percentage", dbus.Byte((k * 37) % 99, variant_level=1)
    d.props[iface][prop] = val
    m.append(iface, dbus.Dictionary({prop: val}, signature="sv"), dbus.Array([], signature="s"), signature="sa{sv}as")
    conn.send_message(m)
    ahead = (k + 1) / rate - (_time.monotonic() - d.flood_t0)
    if ahead > 0.001:
        _time.sleep(ahead)      # pacing the load generator, not waiting for hpmond
ret = dbus.UInt32(n)
'''
FLOOD_RESET = 'd = objects[str(args[0])]\nif hasattr(d, "flood_t0"): del d.flood_t0\n'


def event_lines(env, addr, offset):
    """Event lines and "# name=" lines appended to a log after byte `offset`."""
    with open(env.log_path(addr), 'rb') as f:
        f.seek(offset)
        text = f.read().decode()
    check(text == '' or text.endswith('\n'), f'{addr}: the log ends with a newline')
    lines = text.splitlines()
    for ln in lines:
        if not (ln.startswith('# name=') or t.ChargeLog.LINE.match(ln)):
            t.fail(f'{addr}: a line that does not parse was appended', repr(ln))
    return lines


def flood(env, kind, final):
    """Floods for FLOOD_SECONDS, while QUIET changes now and then; returns figures."""
    path = env.wait_device(FLOODER[0])
    qpath = env.wait_device(QUIET[0])
    bp = env.mock.bluez_path(FLOODER[0])
    hpmond_name = env.name_owner(t.BUS_NAME)
    env.barrier()
    log_size = os.path.getsize(env.log_path(FLOODER[0]))
    qlog_size = os.path.getsize(env.log_path(QUIET[0]))
    rss0 = env.hpmond.rss_kib()
    mark = env.mark()
    env.mock.call('/', t.BLUEZ_MOCK_IFACE, 'FloodReset', 'o', (dbus.ObjectPath(bp),))
    st = {'sent': 0, 'inflight': 0, 'errors': [], 'stop': False}
    total = int(RATE * FLOOD_SECONDS)

    def pump():
        while not st['stop'] and st['inflight'] < 2 and st['sent'] < total:
            n = min(CHUNK, total - st['sent'])
            st['inflight'] += 1
            env.mock.call_async('/', t.BLUEZ_MOCK_IFACE, 'Flood', 'ouusds',
                                (dbus.ObjectPath(bp), dbus.UInt32(st['sent']), dbus.UInt32(n), hpmond_name,
                                 dbus.Double(RATE), kind), done)
            st['sent'] += n

    def done(err):
        st['inflight'] -= 1
        if err is not None:
            st['errors'].append(str(err))
        pump()

    t0 = time.monotonic()
    pump()
    # Meanwhile the quiet headset changes its level five times, each a round trip.
    rss_max, latencies, qlevels = rss0, [], []
    for i, lvl in enumerate((71, 69, 67, 65, 63)):
        env.loop.until(lambda: st['sent'] >= total * (i + 1) // 6, f'{i + 1}/6 of the flood sent')
        qmark = env.mark()
        env.mock.set_percentage(QUIET[0], lvl)
        sent_at = time.monotonic()
        env.wait_published(qpath, 'Percentage', lvl, qmark)
        latencies.append(time.monotonic() - sent_at)
        qlevels.append(lvl)
        rss_max = max(rss_max, env.hpmond.rss_kib())
    env.loop.until(lambda: st['sent'] >= total and st['inflight'] == 0, 'the end of the flood')
    flood_end = time.monotonic()
    check_equal(st['errors'], [], 'the mock sent the whole flood')

    # The last word: a level (or name) the flood never used, and connected.
    env.mock.set_device_prop(FLOODER[0], 'Connected', dbus.Boolean(True))
    if kind == 'alias':
        env.mock.set_device_prop(FLOODER[0], 'Alias', dbus.String(final))
        env.wait_props(path, Name=final, what=f'Name {final!r} after the flood')
    else:
        env.mock.set_percentage(FLOODER[0], final)
        env.wait_published(path, 'Percentage', final, mark)
    settled = time.monotonic()
    env.barrier()
    rss1 = env.hpmond.rss_kib()
    lines = event_lines(env, FLOODER[0], log_size)
    # hpmond's own figures (TimeToEmpty, Health, Alerts, ...) change too: only the signals
    # that carry a change of the headset count
    published = [c for c in env.changes[mark:] if c['path'] == path and c['iface'] == t.DEVICE_IFACE
                 and {'Connected', 'Percentage', 'Name'} & set(c['changed'])]
    reports = len(published)
    during = [c for c in published if c['time'] <= time.time() - (time.monotonic() - flood_end)]
    qlines = event_lines(env, QUIET[0], qlog_size)
    return dict(path=path, qpath=qpath, t0=t0, flood_end=flood_end, settled=settled, rss0=rss0, rss1=rss1,
                rss_max=rss_max, lines=lines, reports=reports, published=published, during=during,
                latencies=latencies, qlevels=qlevels, qlines=qlines, sent=st['sent'])


def check_flood(env, kind, f):
    flood_s = f['flood_end'] - f['t0']
    total_s = f['settled'] - f['t0']
    note(f'{kind} flood: {f["sent"]} changes in {flood_s:.2f}s ({f["sent"] / flood_s:.0f}/s); settled after '
         f'{total_s:.2f}s; {len(f["lines"])} log lines ({f["reports"]} reports), {len(f["published"])} '
         f'PropertiesChanged ({len(f["during"])} during the flood); VmRSS {f["rss0"]} → max {f["rss_max"]} → '
         f'{f["rss1"]} KiB; the quiet headset published after {", ".join(f"{x * 1000:.0f}" for x in f["latencies"])} ms')
    check(f['sent'] / flood_s > 1000, f'{kind}: the flood ran at thousands of changes a second ({f["sent"] / flood_s:.0f}/s)')
    # Each change hpmond takes is one PropertiesChanged, and its log lines are exactly the
    # values that signal carries (a level, a connection, a name): count the one, check the other.
    # Within one signal the log's order is hpmond's rule: a connect, then its level; but a
    # level that comes with a disconnect was the last one before it, so it goes first.
    carried = []
    for c in f['published']:
        ch = c['changed']
        keys = ['Percentage', 'Connected'] if ch.get('Connected') is False else ['Connected', 'Percentage']
        for key, fmt in zip(keys + ['Name'], [{'Connected': 'connected,{:d}', 'Percentage': 'battery,{}'}[k]
                                              for k in keys] + ['# name={}']):
            if key in ch:
                carried.append(fmt.format(ch[key]))
    logged = [ln if ln.startswith('#') else ln.split(',', 1)[1] for ln in f['lines']]
    check_equal(logged, carried, f'{kind}: the log gained exactly what hpmond published')
    most = BURST + PER_SECOND * total_s + SLACK
    check(f['reports'] <= most, f'{kind}: hpmond took at most burst + 1/s × {total_s:.1f}s + {SLACK} changes '
          f'({f["reports"]} ≤ {most:.0f}; {len(f["lines"])} log lines)')
    least = BURST + int(PER_SECOND * flood_s) - 2
    check(len(f['during']) >= least, f'{kind}: the held value went out while the flood went on: at least burst + '
          f'1/s × {flood_s:.1f}s − 2 changes published before it ended ({len(f["during"])} ≥ {least})')
    if env.hpmond.sanitized():
        note('AddressSanitizer: VmRSS not checked')
    else:
        check(f['rss_max'] - f['rss0'] <= RSS_SLACK_KIB and f['rss1'] - f['rss0'] <= RSS_SLACK_KIB,
              f'{kind}: hpmond\'s VmRSS stayed within {RSS_SLACK_KIB // 1024} MiB of its value before the flood',
              f'{f["rss0"]} → max {f["rss_max"]} → {f["rss1"]} KiB')
    check(max(f['latencies']) < QUIET_LATENCY, f'{kind}: the quiet headset was not delayed by the flood '
          f'(at most {max(f["latencies"]) * 1000:.0f} ms < {QUIET_LATENCY * 1000:.0f} ms)')
    check_equal([int(ln.split(',')[2]) for ln in f['qlines'] if ',battery,' in ln], f['qlevels'],
                f'{kind}: every change of the quiet headset is logged')


def test(env):
    env.mock.start()
    env.mock.add_method('Flood', 'ouusds', 'u', FLOOD)
    env.mock.add_method('FloodReset', 'o', '', FLOOD_RESET)
    env.mock.add_headset(*QUIET, connected=True, percentage=73)
    env.mock.add_headset(*FLOODER, connected=True, percentage=100)
    env.hpmond.start()
    env.wait_props(env.wait_device(FLOODER[0]), Connected=True, Percentage=100)
    env.wait_props(env.wait_device(QUIET[0]), Connected=True, Percentage=73)
    # The buckets start full; let start-up's own changes not count.
    f = flood(env, 'battery', 99)
    check_flood(env, 'battery', f)
    props = env.device_props(f['path'])
    check_equal((props['Connected'], props['Percentage']), (True, 99),
                "after the flood the API shows the mock's last state (the latest value wins)")
    check_equal(env.mock.get_percentage(FLOODER[0]), 99, "the mock's last level")
    log = env.read_log(FLOODER[0])
    check_equal((log.values('battery')[-1], log.values('connected')[-1]), (99, 1),
                "after the flood the log ends with the mock's last level and state")
    log.check_well_formed(FLOODER[0])
    hist = env.history(f['path'], 0.0)
    check_equal([(e, v) for _, e, v in hist][-1], ('battery', 99), 'GetHistory ends with it too')

    check(env.hpmond.alive(), 'hpmond survived the flood')
    env.hpmond.stop()


t.run(test)
