/* hpmon — scenario simulator: charge logs that look like real headsets, with failures
 * injected at known times. Deterministic: the same seed writes the same files.
 *
 * It writes into a directory:
 *   <AA_BB_CC_DD_EE_FF>.csv  one charge log v1 per device (lib/chargelog's format)
 *   devices.tsv              file, address, profile, fault ("healthy" or a kind), step,
 *                            charge mode, start, end, fault start (Unix ms; fault start is
 *                            the end for a healthy device): the time before fault start is
 *                            healthy time for false-alarm counting
 *   labels.tsv               file, kind, onset, deadline (Unix ms, the log's own clock): a
 *                            finding of that kind in [onset, deadline] detects the label
 *
 * What it models (DESIGN.md, "Testing"): constant-current charging that slows above 80 %,
 * reports quantized to 1, 5, 10 (0–100 or 10–100) or 20 %, sensor noise that flickers
 * across a step boundary, headsets that report while charging, fall silent on the charger,
 * switch Bluetooth off when plugged in, or charge in a case; levels reported only at
 * connection; use with a phone (changes across gaps); a laptop host that sleeps at night
 * and at lunch, with the disconnect logged before the sleep (as hpmond does, see
 * daemon/sleep.c) or, optionally, only at resume (sim_options.late_disconnect); link flaps; a clock stepped back;
 * optionally, gauges that read low under load and rebound a step when it ends (sim_options.rebound);
 * exact duplicate lines, malformed and out-of-range lines. Logging follows hpmond: a
 * battery line only when the level differs from the last one logged. */
#pragma once

#include <stdint.h>

struct sim_options {
        uint64_t seed;
        const char *dir;
        unsigned healthy;       /* healthy devices */
        unsigned per_kind;      /* faulty devices per finding kind (low-battery: run down on purpose) */
        unsigned healthy_days;  /* how long healthy devices are watched */
        int64_t start_ms;       /* Unix ms of the first midnight */
        double late_disconnect; /* probability that a host sleep's disconnect is logged only at resume.
                                 * 0 by default: hpmond holds a logind delay inhibitor and logs
                                 * `connected,0` for every connected headset on PrepareForSleep
                                 * (daemon/sleep.c). Older hpmond, or a host where logind is absent,
                                 * logged it when BlueZ's signal arrived, usually after the freeze:
                                 * --late-disconnect 0.5 models that */
        double rebound;         /* points a gauge reads low while the headset is in use (off the
                                 * charger), regained when the use ends: the rebound of a cell's
                                 * voltage once a load is removed, which a voltage-based gauge reports
                                 * as a step up. 0 by default (no sag), as every published figure */
};

void sim_options_init(struct sim_options *o);
int sim_run(const struct sim_options *o, unsigned *ret_devices);
