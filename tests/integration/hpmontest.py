#!/usr/bin/python3
# hpmon integration test harness.
#
# Every test (tests/integration/test-*.py) runs in its own world:
#
#   - a private *system* bus: a real dbus-daemon with a generated configuration
#     modelled on Debian's /usr/share/dbus-1/system.conf (deny own and method calls
#     by default), a policy for the mocked bluetoothd modelled on BlueZ's
#     bluetooth.conf, and the project's own dbus/org.hpmon.Monitor1.conf.in with
#     @HPMON_USER@ replaced by the user running the test;
#   - Debian's python3-dbusmock "bluez5" template as org.bluez on that bus;
#   - hpmond with its own state directory, started with NOTIFY_SOCKET pointing at a
#     datagram socket of ours: it is ready when it sends READY=1.
#
# Nothing here sleeps and hopes.  We wait for real events: the bus address that
# dbus-daemon prints once it listens, NameOwnerChanged, READY=1, PropertiesChanged
# and InterfacesAdded on hpmond's API, the AddMatch replies a client receives
# (seen through a bus monitor), lines on a pipe.  The only bounded polls are on
# hpmond's stderr file, where no event exists.  Every wait has a generous
# deadline that fails the test.
#
# This file is also a small program, used by the harness itself:
#   hpmontest.py bluez-mock --preload JSON
# runs the bluez5 mock with devices already in place *before* it takes the name
# org.bluez, as a bluetoothd that comes back knows its devices at once.
#
# Run by /usr/bin/python3 only: that is where Debian's python3-dbusmock lives.
#
# Environment: HPMOND, HPCTL, HPMON_POLICY, DBUS_DAEMON (default: this source
# tree and /usr/bin/dbus-daemon); HPMON_TEST_TIMEOUT_SCALE=N multiplies every
# deadline (20 s); HPMON_TEST_KEEP=1 keeps each test's temporary directory,
# HPMON_TEST_KEEP_FAILED=1 only a failed test's.  A failed test prints hpmond's
# stderr, the charge logs, the mock's and dbus-daemon's logs.

import ctypes
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_SKIP = 77

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def _path_from_env(var, default):
    value = os.environ.get(var)
    return value if value else default


HPMOND = _path_from_env('HPMOND', os.path.join(TOP, 'daemon', 'hpmond'))
HPCTL = _path_from_env('HPCTL', os.path.join(TOP, 'client', 'hpctl'))
HPMON_POLICY = _path_from_env('HPMON_POLICY', os.path.join(TOP, 'dbus', 'org.hpmon.Monitor1.conf.in'))
DBUS_DAEMON = _path_from_env('DBUS_DAEMON', '/usr/bin/dbus-daemon')
PYTHON3 = '/usr/bin/python3'

# Deadlines are generous; slow machines (or ASan/valgrind builds) may scale them.
TIMEOUT = 20.0 * float(os.environ.get('HPMON_TEST_TIMEOUT_SCALE', '1'))

BUS_NAME = 'org.hpmon.Monitor1'
MANAGER_PATH = '/org/hpmon/Monitor1'
MANAGER_IFACE = 'org.hpmon.Monitor1.Manager'
DEVICE_IFACE = 'org.hpmon.Monitor1.Device'
DEVICES_PREFIX = '/org/hpmon/Monitor1/devices/'

PROPS_IFACE = 'org.freedesktop.DBus.Properties'
OM_IFACE = 'org.freedesktop.DBus.ObjectManager'
MOCK_IFACE = 'org.freedesktop.DBus.Mock'

BLUEZ = 'org.bluez'
BLUEZ_MOCK_IFACE = 'org.bluez.Mock'
BLUEZ_DEVICE = 'org.bluez.Device1'
BLUEZ_BATTERY = 'org.bluez.Battery1'

DBUS_NAME = 'org.freedesktop.DBus'
DBUS_PATH = '/org/freedesktop/DBus'


class TestFailure(Exception):
    pass


class TestSkip(Exception):
    pass


# ------------------------------------------------------------------ reporting

_checks = [0]
VERBOSE = True     # tests/demo.py turns the test chatter off


def note(msg):
    if VERBOSE:
        print('# ' + msg, flush=True)


def ok(what):
    _checks[0] += 1
    if VERBOSE:
        print(f'ok {_checks[0]} - {what}', flush=True)


def fail(what, detail=None):
    msg = what if detail is None else f'{what}: {detail}'
    raise TestFailure(msg)


def check(cond, what, detail=None):
    """Record one checked fact; a false one fails the test."""
    if not cond:
        fail(what, detail)
    ok(what)


def check_equal(got, want, what):
    if got != want:
        fail(what, f'got {got!r}, want {want!r}')
    ok(f'{what} ({got!r})')


def skip(why):
    raise TestSkip(why)


_SANITIZER = re.compile(r'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:')


def check_no_sanitizer_report(text, who):
    """With ./configure --enable-sanitizers a report may not change the exit status."""
    m = _SANITIZER.search(text)
    if m:
        fail(f'{who} printed a sanitizer report', text[max(0, m.start() - 200):m.start() + 2000])


# ------------------------------------------------------------------ imports
# python3-dbus, python3-gi and python3-dbusmock are Debian packages, importable
# from /usr/bin/python3 only.  Missing ones make every test a skip, not a failure.

try:
    import dbus
    import dbus.lowlevel
    import dbus.mainloop.glib
    from gi.repository import GLib
    _IMPORT_ERROR = None
except ImportError as e:  # pragma: no cover
    _IMPORT_ERROR = e


def _require_imports():
    if _IMPORT_ERROR is not None:
        skip(f'needs python3-dbus and python3-gi for {sys.executable}: {_IMPORT_ERROR}')
    try:
        import dbusmock  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    except ImportError as e:
        skip(f'needs python3-dbusmock for {sys.executable}: {e}')


# ------------------------------------------------------------------ processes

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # A child must not outlive a test that was killed (make check's timeout).
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Proc:
    """A child process the harness owns and always ends."""

    def __init__(self, argv, name, env=None, stdout=None, stderr=None, stdin=subprocess.DEVNULL,
                 pass_fds=()):
        self.name = name
        self.argv = argv
        self.popen = subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr, stdin=stdin,
                                      preexec_fn=_die_with_parent, pass_fds=pass_fds,
                                      close_fds=True)
        self.pid = self.popen.pid
        try:
            self.pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def alive(self):
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def send_signal(self, sig):
        if self.alive():
            self.popen.send_signal(sig)

    def wait(self, timeout=TIMEOUT):
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            fail(f'{self.name} (pid {self.pid}) did not exit within {timeout:.0f}s')

    def end(self, sig=signal.SIGTERM, grace=5.0):
        """End the process however it goes; returns its exit status."""
        if self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        return self.popen.returncode


def _tail(path, n=60):
    try:
        with open(path, 'r', errors='replace') as f:
            lines = f.readlines()
    except OSError:
        return '(none)'
    if not lines:
        return '(empty)'
    return ''.join(lines[-n:]).rstrip('\n')


# ------------------------------------------------------------------ the bus

def _user_name():
    return pwd.getpwuid(os.getuid()).pw_name


# Debian 12's /usr/share/dbus-1/system.conf default policy, verbatim in spirit.
_DEFAULT_POLICY = '''\
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Containers1"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
'''

# For the mocked bluetoothd, after BlueZ's own src/bluetooth.conf: its user owns
# org.bluez; everybody may call it.  The test user may also monitor the bus (as
# root may on a real system) so that the harness can see a client's AddMatch.
_TEST_USER_POLICY = '''\
  <policy user="{user}">
    <allow own="org.bluez"/>
    <allow send_destination="org.bluez"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <policy context="default">
    <allow send_destination="org.bluez"/>
  </policy>
'''


def _policy_text(user):
    """The project's own bus policy with @HPMON_USER@ → user (like sed)."""
    if not os.path.exists(HPMON_POLICY):
        fail(f'project bus policy {HPMON_POLICY} is missing (set HPMON_POLICY)')
    with open(HPMON_POLICY) as f:
        text = f.read()
    text = text.replace('@HPMON_USER@', user)
    left = re.findall(r'@[A-Za-z_]+@', text)
    if left:
        fail(f'{HPMON_POLICY} has substitutions the tests do not know', ' '.join(sorted(set(left))))
    return text


class Bus:
    """A private dbus-daemon acting as the system bus."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.user = _user_name()
        self.socket_path = os.path.join(tmp, 'system_bus_socket')
        self.policy_path = os.path.join(tmp, 'org.hpmon.Monitor1.conf')
        self.config_path = os.path.join(tmp, 'system.conf')
        self.log_path = os.path.join(tmp, 'dbus-daemon.log')
        policy = _policy_text(self.user)
        with open(self.policy_path, 'w') as f:
            f.write(policy)
        with open(self.config_path, 'w') as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
                    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    '<busconfig>\n'
                    '  <type>system</type>\n'
                    f'  <listen>unix:path={self.socket_path}</listen>\n'
                    '  <auth>EXTERNAL</auth>\n'
                    + _DEFAULT_POLICY
                    + _TEST_USER_POLICY.format(user=self.user)
                    + f'  <include>{self.policy_path}</include>\n'
                    '</busconfig>\n')
        self.proc = None
        self.address = None

    def start(self):
        log = open(self.log_path, 'wb')
        self.proc = Proc([DBUS_DAEMON, '--config-file=' + self.config_path, '--print-address',
                          '--nofork', '--nopidfile', '--nosyslog'],
                         'dbus-daemon', stdout=subprocess.PIPE, stderr=log)
        log.close()
        # The address is printed once the daemon listens: that is its readiness.
        r, _, _ = select.select([self.proc.popen.stdout], [], [], TIMEOUT)
        line = self.proc.popen.stdout.readline().decode().strip() if r else ''
        if not line:
            fail('dbus-daemon did not print its address', _tail(self.log_path))
        self.address = line
        os.environ['DBUS_SYSTEM_BUS_ADDRESS'] = self.address
        return self.address

    def stop(self):
        if self.proc:
            self.proc.end()
            self.proc.popen.stdout.close()


# ------------------------------------------------------------------ waiting

class Loop:
    """Runs the GLib main context until a condition holds or a deadline passes.

    The condition is evaluated first, then again after every event the main
    context dispatches (a D-Bus signal, a pipe becoming readable, a process
    exiting).  `poll` adds a periodic wake-up, for states that have no event.
    `guards` are (Proc, description): a guarded process that exits fails the wait.
    """

    def __init__(self):
        self.ctx = GLib.MainContext.default()
        self.guards = []

    def until(self, cond, what, timeout=TIMEOUT, poll=None):
        deadline = time.monotonic() + timeout
        timers = []

        def wake(*_):
            # Sources stay installed (return True) and are removed below.
            return True

        watches = []
        try:
            for proc, desc in self.guards:
                if proc.pidfd is not None:
                    watches.append(GLib.io_add_watch(proc.pidfd, GLib.PRIORITY_DEFAULT, GLib.IO_IN, wake))
            if poll:
                timers.append(GLib.timeout_add(int(poll * 1000), wake))
            timers.append(GLib.timeout_add(int(timeout * 1000) + 1, wake))
            while True:
                for proc, desc in self.guards:
                    if not proc.alive():
                        fail(f'{desc} exited (status {proc.returncode}) while waiting for {what}')
                result = cond()
                if result:
                    return result
                if time.monotonic() >= deadline:
                    fail(f'timed out after {timeout:.0f}s waiting for {what}')
                self.ctx.iteration(True)
        finally:
            for t in timers + watches:
                GLib.source_remove(t)

    def drain(self):
        """Dispatch whatever is pending without blocking."""
        while self.ctx.iteration(False):
            pass


def _unwrap(v):
    """dbus-python value → plain Python value."""
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(v)
    if isinstance(v, dbus.Double):
        return float(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, (dbus.Array, list)):
        return [_unwrap(x) for x in v]
    if isinstance(v, (dbus.Struct, tuple)):
        return tuple(_unwrap(x) for x in v)
    if isinstance(v, (dbus.Dictionary, dict)):
        return {_unwrap(k): _unwrap(x) for k, x in v.items()}
    return v


def device_path(address):
    return DEVICES_PREFIX + 'dev_' + address.upper().replace(':', '_')


def log_name(address):
    return address.upper().replace(':', '_') + '.csv'


# ------------------------------------------------------------------ bluez mock

_MOCK_HELPERS = [
    # Real bluetoothd drops Battery1 when a headset disconnects.  dbusmock 0.28
    # has AddProperties but no RemoveProperties, so the mock learns one.
    ('RemoveBattery', 'o', '',
     'p = str(args[0])\n'
     'objects[p].props.pop("org.bluez.Battery1", None)\n'
     'objects["/"].EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "oas",\n'
     '    [dbus.ObjectPath(p), dbus.Array(["org.bluez.Battery1"], signature="s")])\n'),
]


class BluezMock:
    """Debian's dbusmock bluez5 template as org.bluez on the private bus."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.runs = 0
        self.adapter = 'hci0'

    @property
    def conn(self):
        return self.env.conn

    def start(self, preload=None):
        """Start the mock and wait until it owns org.bluez.

        preload: list of dicts {address, alias, connected, percentage}: devices (on
        adapter hci0) that exist before the name is taken, so that a client's
        GetManagedObjects on NameOwnerChanged sees them.  Without it the stock
        `python3 -m dbusmock --template bluez5 --system` runs and has nothing.
        """
        if self.proc and self.proc.alive():
            fail('bluez mock already running')
        self.runs += 1
        log_path = os.path.join(self.env.tmp, f'bluez-mock-{self.runs}.log')
        log = open(log_path, 'wb')
        if preload is None:
            argv = [PYTHON3, '-m', 'dbusmock', '--template', 'bluez5', '--system']
        else:
            argv = [PYTHON3, os.path.abspath(__file__), 'bluez-mock', '--preload', json.dumps(preload)]
        self.log_path = log_path
        self.proc = Proc(argv, f'bluez mock #{self.runs}', stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.env.wait_name(BLUEZ, True, guard=(self.proc, 'the bluez mock'))
        for name, in_sig, out_sig, code in _MOCK_HELPERS:
            self.call('/', MOCK_IFACE, 'AddMethod', 'sssss', (BLUEZ_MOCK_IFACE, name, in_sig, out_sig, code))
        if preload is None:
            self.call('/', BLUEZ_MOCK_IFACE, 'AddAdapter', 'ss', (self.adapter, 'hpmon-test-host'))
        note(f'bluez mock #{self.runs} owns org.bluez (pid {self.proc.pid})')

    def kill(self, sig=signal.SIGKILL):
        """bluetoothd crashes: kill the mock, wait until org.bluez has no owner."""
        self.proc.send_signal(sig)
        self.proc.wait()
        self.env.wait_name(BLUEZ, False)
        note(f'bluez mock #{self.runs} killed, org.bluez gone')

    def stop(self):
        if self.proc:
            self.proc.end()

    def call(self, path, iface, method, sig='', args=(), timeout=TIMEOUT):
        return self.conn.call_blocking(BLUEZ, path, iface, method, sig, args, timeout=timeout)

    def bluez_path(self, address):
        return f'/org/bluez/{self.adapter}/dev_' + address.upper().replace(':', '_')

    def add_headset(self, address, alias, connected=True, percentage=None):
        """AddDevice, then ConnectDevice, then Battery1 (InterfacesAdded)."""
        path = str(self.call('/', BLUEZ_MOCK_IFACE, 'AddDevice', 'sss', (self.adapter, address, alias)))
        if connected:
            self.connect(address)
        if percentage is not None:
            self.add_battery(address, percentage)
        return path

    def connect(self, address):
        self.call('/', BLUEZ_MOCK_IFACE, 'ConnectDevice', 'ss', (self.adapter, address))

    def disconnect(self, address):
        self.call('/', BLUEZ_MOCK_IFACE, 'DisconnectDevice', 'ss', (self.adapter, address))

    def add_battery(self, address, percentage):
        """Give the device Battery1 (AddProperties) and announce it (InterfacesAdded)."""
        path = self.bluez_path(address)
        value = dbus.Byte(percentage) if type(percentage) is int else percentage
        self.call(path, MOCK_IFACE, 'AddProperties', 'sa{sv}',
                  (BLUEZ_BATTERY, dbus.Dictionary({'Percentage': value}, signature='sv')))
        self.call('/', MOCK_IFACE, 'EmitSignal', 'sssav',
                  (OM_IFACE, 'InterfacesAdded', 'oa{sa{sv}}',
                   dbus.Array([dbus.ObjectPath(path),
                               dbus.Dictionary({BLUEZ_BATTERY: dbus.Dictionary({'Percentage': value},
                                                                               signature='sv')},
                                               signature='sa{sv}')], signature='v')))

    def remove_battery(self, address):
        self.call('/', BLUEZ_MOCK_IFACE, 'RemoveBattery', 'o', (dbus.ObjectPath(self.bluez_path(address)),))

    def set_percentage(self, address, value):
        """Properties.Set on the device; dbusmock emits PropertiesChanged.

        An int becomes a byte (Battery1.Percentage is 'y'); any other dbus value
        (dbus.String('80'), dbus.Byte(255)) is sent as it is.
        """
        v = dbus.Byte(value) if type(value) is int else value
        self.call(self.bluez_path(address), PROPS_IFACE, 'Set', 'ssv', (BLUEZ_BATTERY, 'Percentage', v))

    def set_device_prop(self, address, name, value):
        self.call(self.bluez_path(address), PROPS_IFACE, 'Set', 'ssv', (BLUEZ_DEVICE, name, value))

    def get_percentage(self, address):
        return int(self.call(self.bluez_path(address), PROPS_IFACE, 'Get', 'ss', (BLUEZ_BATTERY, 'Percentage')))


def _run_preloaded_mock(preload):
    """The bluez5 template with devices in place before org.bluez is taken."""
    import dbus.service
    import dbusmock.mockobject as mo

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    conn = dbus.bus.BusConnection(os.environ['DBUS_SYSTEM_BUS_ADDRESS'])
    main = mo.DBusMockObject(conn, '/', mo.OBJECT_MANAGER_IFACE, {}, None, True)
    mo.objects['/'] = main
    main.AddTemplate('bluez5', {})
    main.AddAdapter('hci0', 'hpmon-test-host')
    for dev in preload:
        path = main.AddDevice('hci0', dev['address'], dev.get('alias', 'headset'))
        if dev.get('connected', True):
            main.ConnectDevice('hci0', dev['address'])
        if dev.get('percentage') is not None:
            mo.objects[path].AddProperties(BLUEZ_BATTERY, {'Percentage': dbus.Byte(dev['percentage'])})
    loop = GLib.MainLoop()
    conn.add_signal_receiver(loop.quit, signal_name='Disconnected', path='/org/freedesktop/DBus/Local',
                             dbus_interface='org.freedesktop.DBus.Local')
    # Only now does bluetoothd "appear".
    name = dbus.service.BusName(BLUEZ, conn, allow_replacement=True, replace_existing=True, do_not_queue=True)
    loop.run()
    del name


# ------------------------------------------------------------------ hpmond

class Hpmond:
    """hpmond under test: NOTIFY_SOCKET readiness, stderr captured per run."""

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.runs = 0
        self.stderr_path = None
        self.stderr_paths = []

    def start(self, extra_args=(), wait_ready=True):
        if not (os.path.isfile(HPMOND) and os.access(HPMOND, os.X_OK)):
            fail(f'hpmond not built: {HPMOND} (set HPMOND)')
        self.runs += 1
        notify_path = os.path.join(self.env.tmp, f'notify-{self.runs}')
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.notify.bind(notify_path)
        self.stderr_path = os.path.join(self.env.tmp, f'hpmond-{self.runs}.stderr')
        self.stderr_paths.append(self.stderr_path)
        env = dict(os.environ)
        for var in ('STATE_DIRECTORY', 'JOURNAL_STREAM', 'INVOCATION_ID', 'LISTEN_FDS', 'LISTEN_PID',
                    'WATCHDOG_USEC', 'WATCHDOG_PID'):
            env.pop(var, None)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.env.bus.address
        env['NOTIFY_SOCKET'] = notify_path
        argv = [HPMOND, '--state-dir', self.env.state_dir, '--log-target', 'stderr', *extra_args]
        err = open(self.stderr_path, 'wb')
        self.proc = Proc(argv, f'hpmond #{self.runs}', env=env, stdout=err, stderr=err)
        err.close()
        self.ready = False
        self.notify_messages = []
        if wait_ready:
            self.wait_ready()
        return self.proc

    def wait_ready(self):
        """READY=1 on our NOTIFY_SOCKET, then org.hpmon.Monitor1 owned."""
        deadline = time.monotonic() + TIMEOUT
        fds = [self.notify] + ([self.proc.pidfd] if self.proc.pidfd is not None else [])
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f'hpmond #{self.runs} sent no READY=1 within {TIMEOUT:.0f}s', self.stderr_tail())
            r, _, _ = select.select(fds, [], [], min(left, 1.0) if self.proc.pidfd is None else left)
            if self.notify in r:
                msg = self.notify.recv(4096).decode(errors='replace')
                self.notify_messages.append(msg)
                if 'READY=1' in msg.split('\n'):
                    self.ready = True
                    break
            if not self.proc.alive():
                fail(f'hpmond #{self.runs} exited with status {self.proc.returncode} before READY=1',
                     self.stderr_tail())
        self.env.wait_name(BUS_NAME, True, guard=(self.proc, f'hpmond #{self.runs}'))
        self.env.loop.guards = [g for g in self.env.loop.guards if not g[1].startswith('hpmond')]
        self.env.loop.guards.append((self.proc, f'hpmond #{self.runs}'))
        note(f'hpmond #{self.runs} is ready (pid {self.proc.pid}) and owns {BUS_NAME}')

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def unguard(self):
        self.env.loop.guards = [g for g in self.env.loop.guards if g[0] is not self.proc]

    def stop(self):
        """SIGTERM: hpmond must exit 0 promptly."""
        self.unguard()
        self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait()
        self.notify.close()
        if status != 0:
            fail(f'hpmond #{self.runs} exit status on SIGTERM', f'{status}, want 0\n{self.stderr_tail()}')
        self.env.wait_name(BUS_NAME, False)
        ok(f'hpmond #{self.runs} exited 0 on SIGTERM')
        check_no_sanitizer_report(self.stderr_text(), f'hpmond #{self.runs}')

    def kill(self):
        self.unguard()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.notify.close()

    def stderr_text(self, run=None):
        path = self.stderr_path if run is None else self.stderr_paths[run - 1]
        with open(path, 'r', errors='replace') as f:
            return f.read()

    def stderr_tail(self):
        return f'--- {self.stderr_path}:\n{_tail(self.stderr_path)}'

    def stderr_size(self):
        return os.path.getsize(self.stderr_path)

    def wait_stderr(self, regex, since=0, what=None):
        """A line matching regex in stderr after byte offset `since`.

        stderr is a plain file: there is no event, so this is a bounded poll.
        """
        pat = re.compile(regex, re.M)

        def found():
            with open(self.stderr_path, 'r', errors='replace') as f:
                f.seek(since)
                m = pat.search(f.read())
            return m.group(0) if m else None
        return self.env.loop.until(found, what or f'hpmond stderr line matching {regex!r}', poll=0.05)

    def warnings(self, since=0):
        """stderr lines of priority warning or worse (<0>..<4>) after byte `since`."""
        with open(self.stderr_path, 'r', errors='replace') as f:
            f.seek(since)
            return [ln for ln in f.read().splitlines() if re.match(r'<[0-4]>', ln)]


# ------------------------------------------------------------------ charge log

class ChargeLog:
    """A charge log v1 file read strictly (DESIGN.md, "Charge log v1")."""

    LINE = re.compile(r'^(\d+\.\d{3}),(connected|battery),(-?\d+)$')

    def __init__(self, path):
        self.path = path
        with open(path, 'rb') as f:
            self.raw = f.read()
        self.text = self.raw.decode('utf-8')
        self.torn = bool(self.text) and not self.text.endswith('\n')
        self.comments = []
        self.header = None
        self.events = []      # (time, event, value)
        self.bad = []         # (lineno, line) that do not parse
        lines = self.text.split('\n')
        if not self.torn:
            lines = lines[:-1]
        for n, line in enumerate(lines, 1):
            if line.startswith('#'):
                self.comments.append(line)
            elif self.header is None:
                self.header = line
            else:
                m = self.LINE.match(line)
                if m:
                    self.events.append((float(m.group(1)), m.group(2), int(m.group(3))))
                else:
                    self.bad.append((n, line))
        self.meta = {}
        for c in self.comments:
            m = re.match(r'#\s*(\w+)=(.*)$', c)
            if m:
                self.meta[m.group(1)] = m.group(2)

    def values(self, event):
        return [v for (_, e, v) in self.events if e == event]

    def check_well_formed(self, address, name=None):
        check(self.comments[:1] == ['# hpmon charge log v1'], f'{os.path.basename(self.path)}: first line is "# hpmon charge log v1"',
              repr(self.comments[:1]))
        check(self.meta.get('address') == address, f'log header has address={address}', repr(self.meta))
        if name is not None:
            check(self.meta.get('name') == name, f'log header has name={name}', repr(self.meta))
        check(self.header == 'time,event,value', 'log has the header line "time,event,value"', repr(self.header))
        check(not self.torn, 'log ends with a newline (no torn last line)', repr(self.text[-40:]))
        check(not self.bad, 'every log line parses as time,event,value', repr(self.bad))
        for t, e, v in self.events:
            if e == 'battery' and not 0 <= v <= 100:
                fail('battery value outside 0-100 in log', f'{t},{e},{v}')
            if e == 'connected' and v not in (0, 1):
                fail('connected value not 0/1 in log', f'{t},{e},{v}')
        ok('every logged value is in range (battery 0-100, connected 0/1)')
        last = {}
        for t, e, v in self.events:
            if last.get(e) == v:
                fail('log has two consecutive equal values for one event', f'{e},{v} at {t}\n{self.text}')
            last[e] = v
        ok('no value logged twice in a row')

    def dump(self):
        return f'--- {self.path}:\n{self.text}'


# ------------------------------------------------------------------ the world

class Env:
    """One test's private world; a context manager that always cleans up."""

    def __init__(self, name):
        self.name = name
        self.procs = []

    def __enter__(self):
        _require_imports()
        for tool in (DBUS_DAEMON,):
            if not os.access(tool, os.X_OK):
                skip(f'{tool} not found (set DBUS_DAEMON)')
        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        self.tmp = tempfile.mkdtemp(prefix=f'hpmon-{self.name}-')
        self.conn = None
        self.bus = self.mock = self.hpmond = None
        try:
            return self._setup()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise

    def _setup(self):
        # Others (nobody, in the policy test) must reach the bus socket in here.
        os.chmod(self.tmp, 0o755)
        self.state_dir = os.path.join(self.tmp, 'state')
        os.mkdir(self.state_dir, 0o755)
        self.loop = Loop()
        self.mock = BluezMock(self)
        self.hpmond = Hpmond(self)
        self.bus = Bus(self.tmp)
        self.bus.start()
        note(f'private system bus at {self.bus.address} (policy {HPMON_POLICY})')
        self.conn = dbus.bus.BusConnection(self.bus.address)
        self.owners = {}
        self.changes = []        # PropertiesChanged from hpmond's objects
        self.added = []          # InterfacesAdded on hpmond's ObjectManager
        self.removed = []
        self.conn.add_signal_receiver(self._on_owner_changed, signal_name='NameOwnerChanged',
                                      dbus_interface=DBUS_NAME, bus_name=DBUS_NAME, path=DBUS_PATH)
        # No sender filter: hpmond restarts get new unique names.  Paths tell ours.
        self.conn.add_signal_receiver(self._on_props_changed, signal_name='PropertiesChanged',
                                      dbus_interface=PROPS_IFACE, path_keyword='path',
                                      sender_keyword='sender')
        self.conn.add_signal_receiver(self._on_ifaces_added, signal_name='InterfacesAdded',
                                      dbus_interface=OM_IFACE, path_keyword='path')
        self.conn.add_signal_receiver(self._on_ifaces_removed, signal_name='InterfacesRemoved',
                                      dbus_interface=OM_IFACE, path_keyword='path')
        return self

    def __exit__(self, exc_type, exc, tb):
        failed = exc_type is not None and not issubclass(exc_type, TestSkip)
        if failed and self.bus is not None:
            self.dump_diagnostics()
        for p in reversed(self.procs):
            p.end()
        if self.hpmond is not None and self.hpmond.proc is not None:
            self.hpmond.proc.end()
        if self.mock is not None:
            self.mock.stop()
        if self.conn is not None:
            self.conn.close()
        if self.bus is not None:
            self.bus.stop()
        if os.environ.get('HPMON_TEST_KEEP') or (failed and os.environ.get('HPMON_TEST_KEEP_FAILED')):
            note(f'kept {self.tmp}')
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def dump_diagnostics(self):
        print('# ---- diagnostics', flush=True)
        for path in self.hpmond.stderr_paths:
            print(f'# --- {path}:\n{_tail(path)}', flush=True)
        devdir = os.path.join(self.state_dir, 'devices')
        if os.path.isdir(devdir):
            for n in sorted(os.listdir(devdir)):
                print(f'# --- {os.path.join(devdir, n)}:\n{_tail(os.path.join(devdir, n), 80)}', flush=True)
        if getattr(self.mock, 'log_path', None):
            print(f'# --- {self.mock.log_path} (tail):\n{_tail(self.mock.log_path, 25)}', flush=True)
        print(f'# --- {self.bus.log_path}:\n{_tail(self.bus.log_path)}', flush=True)

    # signal handlers (they only record; waits look at the records)

    def _on_owner_changed(self, name, old, new):
        self.owners[str(name)] = str(new)

    def _on_props_changed(self, iface, changed, invalidated, path=None, sender=None):
        if not str(path).startswith(MANAGER_PATH):
            return
        self.changes.append({'time': time.time(), 'path': str(path), 'iface': str(iface),
                             'changed': _unwrap(changed), 'invalidated': _unwrap(invalidated),
                             'sender': str(sender)})

    def _on_ifaces_added(self, obj, ifaces, path=None):
        if str(path) == MANAGER_PATH:
            self.added.append((str(obj), _unwrap(ifaces)))

    def _on_ifaces_removed(self, obj, ifaces, path=None):
        if str(path) == MANAGER_PATH:
            self.removed.append((str(obj), _unwrap(ifaces)))

    # bus names

    def name_owner(self, name):
        try:
            return str(self.conn.call_blocking(DBUS_NAME, DBUS_PATH, DBUS_NAME, 'GetNameOwner', 's', (name,)))
        except dbus.DBusException:
            return ''

    def wait_name(self, name, present, guard=None):
        """NameOwnerChanged: wait until `name` has (or has no) owner."""
        self.owners.pop(name, None)
        initial = self.name_owner(name)   # after subscribing: no lost update

        def cond():
            owner = self.owners.get(name, initial)
            return bool(owner) == present
        saved = list(self.loop.guards)
        if guard:
            self.loop.guards.append(guard)
        try:
            self.loop.until(cond, f'{name} to {"appear" if present else "vanish"} on the bus')
        finally:
            self.loop.guards = saved

    # hpmond's API

    def call(self, path, iface, method, sig='', args=(), timeout=TIMEOUT):
        return self.conn.call_blocking(BUS_NAME, path, iface, method, sig, args, timeout=timeout)

    def manager_props(self):
        return _unwrap(self.call(MANAGER_PATH, PROPS_IFACE, 'GetAll', 's', (MANAGER_IFACE,)))

    def get_device(self, address):
        return str(self.call(MANAGER_PATH, MANAGER_IFACE, 'GetDevice', 's', (address,)))

    def device_props(self, path):
        return _unwrap(self.call(path, PROPS_IFACE, 'GetAll', 's', (DEVICE_IFACE,)))

    def history(self, path, since=0.0):
        return _unwrap(self.call(path, DEVICE_IFACE, 'GetHistory', 'd', (dbus.Double(since),)))

    def managed_objects(self):
        return _unwrap(self.call(MANAGER_PATH, OM_IFACE, 'GetManagedObjects'))

    def barrier(self):
        """A round trip to hpmond.  sd-bus handles messages in order, so once this
        returns hpmond has dispatched every signal the bus routed to it before."""
        self.call(MANAGER_PATH, PROPS_IFACE, 'Get', 'ss', (MANAGER_IFACE, 'Version'))

    def wait_device(self, address):
        """GetDevice succeeds (re-tried on every InterfacesAdded / signal)."""
        def cond():
            try:
                return self.get_device(address)
            except dbus.DBusException as e:
                if e.get_dbus_name() in ('org.hpmon.Monitor1.Error.NoSuchDevice',):
                    return None
                raise
        return self.loop.until(cond, f'hpmond to publish device {address}')

    def wait_props(self, path, what=None, **want):
        """Device properties equal `want` (checked now, then on every signal)."""
        def cond():
            try:
                props = self.device_props(path)
            except dbus.DBusException as e:
                if e.get_dbus_name() in ('org.freedesktop.DBus.Error.UnknownObject',
                                         'org.freedesktop.DBus.Error.UnknownInterface',
                                         'org.freedesktop.DBus.Error.UnknownMethod'):
                    return None
                raise
            return props if all(props.get(k) == v for k, v in want.items()) else None
        return self.loop.until(cond, what or f'{path} to show {want}')

    def wait_manager_prop(self, name, value):
        return self.loop.until(lambda: self.manager_props().get(name) == value,
                               f'Manager.{name} to become {value!r}')

    def mark(self):
        """A position in the record of PropertiesChanged, for published(since=...).

        Signals already received (queued while a blocking call waited for its
        reply) are dispatched first, so they are not taken for later ones."""
        self.loop.drain()
        return len(self.changes)

    def published(self, path, prop, since=0):
        return [c['changed'][prop] for c in self.changes[since:]
                if c['path'] == path and c['iface'] == DEVICE_IFACE and prop in c['changed']]

    def wait_manager_published(self, prop, value, since):
        """PropertiesChanged on the Manager carrying prop=value, after mark `since`."""
        return self.loop.until(lambda: any(c['path'] == MANAGER_PATH and c['iface'] == MANAGER_IFACE
                                           and c['changed'].get(prop, object()) == value
                                           for c in self.changes[since:]),
                               f'PropertiesChanged Manager.{prop}={value!r}')

    def wait_published(self, path, prop, value, since):
        """PropertiesChanged from hpmond carrying prop=value, after mark `since`."""
        return self.loop.until(lambda: value in self.published(path, prop, since),
                               f'PropertiesChanged {prop}={value!r} on {path}')

    # the charge log

    def log_path(self, address):
        return os.path.join(self.state_dir, 'devices', log_name(address))

    def read_log(self, address):
        path = self.log_path(address)
        if not os.path.exists(path):
            fail(f'no charge log at {path}')
        return ChargeLog(path)

    # hpctl

    def hpctl(self, *args, user=None, env_extra=None, timeout=TIMEOUT):
        """Run hpctl to completion; returns CompletedProcess (text)."""
        if not (os.path.isfile(HPCTL) and os.access(HPCTL, os.X_OK)):
            fail(f'hpctl not built: {HPCTL} (set HPCTL)')
        argv = [HPCTL, *args]
        if user is not None:
            argv = self.as_user(user, argv)
        env = dict(os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus.address
        env['NO_COLOR'] = '1'
        env.update(env_extra or {})
        try:
            r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout, preexec_fn=_die_with_parent)
        except subprocess.TimeoutExpired:
            fail(f'`hpctl {" ".join(args)}` did not finish within {timeout:.0f}s')
        note(f'$ hpctl {" ".join(args)}{" (as " + user + ")" if user else ""} → exit {r.returncode}')
        check_no_sanitizer_report(r.stderr, f'hpctl {" ".join(args)}')
        if VERBOSE:
            for line in r.stdout.splitlines():
                print('#   | ' + line)
            for line in r.stderr.splitlines():
                print('#   ! ' + line)
        return r

    def hpctl_json(self, *args, user=None):
        r = self.hpctl(*args, user=user)
        if r.returncode != 0:
            fail(f'`hpctl {" ".join(args)}` exit status', f'{r.returncode}\n{r.stderr}')
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            fail(f'`hpctl {" ".join(args)}` prints JSON', f'{e}: {r.stdout!r}')

    def as_user(self, user, argv):
        pw = pwd.getpwnam(user)
        if os.getuid() != 0:
            skip(f'running as {user} needs root')
        setpriv = shutil.which('setpriv')
        if not setpriv:
            skip('setpriv (util-linux) not found')
        return [setpriv, f'--reuid={pw.pw_uid}', f'--regid={pw.pw_gid}', '--clear-groups', *argv]

    def spawn_monitor(self, *args, user=None, on_line=None):
        """Start `hpctl monitor ARGS` and wait until its signal matches are in place."""
        if not (os.path.isfile(HPCTL) and os.access(HPCTL, os.X_OK)):
            fail(f'hpctl not built: {HPCTL} (set HPCTL)')
        mon = MatchWatch(self)
        env = dict(os.environ)
        env['DBUS_SYSTEM_BUS_ADDRESS'] = self.bus.address
        env['NO_COLOR'] = '1'
        argv = [HPCTL, 'monitor', *args]
        if user is not None:
            argv = self.as_user(user, argv)
        proc = Proc(argv, 'hpctl monitor', env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(proc)
        lines = LineReader(proc.popen.stdout, on_line)
        errs = LineReader(proc.popen.stderr)
        proc.lines = lines
        proc.errs = errs

        def ready():
            if not proc.alive():
                fail('hpctl monitor exited early', f'status {proc.returncode}: {"".join(errs.lines)}')
            return mon.client_ready(proc.pid)
        self.loop.until(ready, 'hpctl monitor to add its PropertiesChanged match')
        mon.close()
        note(f'hpctl monitor (pid {proc.pid}) has its matches in place')
        return proc


class LineReader:
    """Collects lines from a pipe through the GLib main loop."""

    def __init__(self, pipe, on_line=None):
        self.pipe = pipe
        self.on_line = on_line
        self.buf = b''
        self.lines = []
        self.eof = False
        os.set_blocking(pipe.fileno(), False)
        self.watch = GLib.io_add_watch(pipe.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP,
                                       self._readable)

    def _readable(self, fd, cond):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            self.eof = True
            if self.buf:
                self._add(self.buf.decode(errors='replace'))
                self.buf = b''
            return False
        self.buf += data
        while b'\n' in self.buf:
            line, self.buf = self.buf.split(b'\n', 1)
            self._add(line.decode(errors='replace'))
        return True

    def _add(self, line):
        self.lines.append(line)
        if self.on_line:
            self.on_line(line)


class MatchWatch:
    """A bus monitor (BecomeMonitor) that sees which match rules a client added.

    A client of ours is ready for signals when the bus daemon has answered its
    AddMatch for PropertiesChanged: from then on the bus routes every such
    signal to it.  That is an event we can wait for instead of sleeping.
    """

    def __init__(self, env):
        self.env = env
        self.calls = {}       # (sender, serial) → rule
        self.done = {}        # sender → [rules answered]
        self.conn = dbus.bus.BusConnection(env.bus.address)
        self.conn.add_message_filter(self._filter)
        self.conn.call_blocking(DBUS_NAME, DBUS_PATH, 'org.freedesktop.DBus.Monitoring', 'BecomeMonitor',
                                'asu', (dbus.Array(["type='method_call',interface='org.freedesktop.DBus',member='AddMatch'",
                                                    "type='method_return'", "type='error'"],
                                                   signature='s'), dbus.UInt32(0)))

    def _filter(self, conn, msg):
        t = msg.get_type()
        if t == dbus.lowlevel.MESSAGE_TYPE_METHOD_CALL and msg.get_member() == 'AddMatch' \
                and msg.get_destination() == DBUS_NAME:
            args = msg.get_args_list()
            if args:
                self.calls[(msg.get_sender(), msg.get_serial())] = str(args[0])
        elif t == dbus.lowlevel.MESSAGE_TYPE_METHOD_RETURN:
            key = (msg.get_destination(), msg.get_reply_serial())
            if key in self.calls:
                self.done.setdefault(key[0], []).append(self.calls.pop(key))
        return dbus.lowlevel.HANDLER_RESULT_HANDLED

    def client_ready(self, pid):
        for sender, rules in self.done.items():
            if any(k[0] == sender for k in self.calls):
                continue      # AddMatch calls still unanswered
            covers = [r for r in rules
                      if 'PropertiesChanged' in r or ("member=" not in r and "type='signal'" in r)]
            if not covers:
                continue
            try:
                owner_pid = int(self.env.conn.call_blocking(DBUS_NAME, DBUS_PATH, DBUS_NAME,
                                                            'GetConnectionUnixProcessID', 's', (sender,)))
            except dbus.DBusException:
                continue
            if owner_pid == pid:
                return True
        return False

    def close(self):
        self.conn.close()


# ------------------------------------------------------------------ running a test

def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def run(test, name=None):
    """Run test(env) in a fresh Env; exit 0 pass, 1 fail, 77 skip."""
    name = name or os.path.splitext(os.path.basename(sys.argv[0]))[0]
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    note(f'{name}: hpmond={HPMOND} hpctl={HPCTL}')
    try:
        with Env(name) as env:
            test(env)
    except TestSkip as e:
        print(f'SKIP: {name}: {e}', flush=True)
        sys.exit(EXIT_SKIP)
    except TestFailure as e:
        print(f'not ok {_checks[0] + 1} - {e}', flush=True)
        print(f'FAIL: {name}', flush=True)
        sys.exit(EXIT_FAIL)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        print(f'FAIL: {name} (error in the test itself)', flush=True)
        sys.exit(EXIT_FAIL)
    print(f'PASS: {name} ({_checks[0]} checks)', flush=True)
    sys.exit(EXIT_PASS)


if __name__ == '__main__':
    if len(sys.argv) >= 4 and sys.argv[1] == 'bluez-mock' and sys.argv[2] == '--preload':
        _run_preloaded_mock(json.loads(sys.argv[3]))
    else:
        print('usage: hpmontest.py bluez-mock --preload JSON   (the harness runs this itself)',
              file=sys.stderr)
        sys.exit(2)
