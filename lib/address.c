/* hpmon — Bluetooth addresses. libbluetooth validates and prints them (bachk, str2ba, ba2str);
 * this file only swaps ':' for '_' where a file name or an object path cannot hold a colon. */
#include <errno.h>
#include <string.h>

#include <bluetooth/bluetooth.h>

#include "address.h"

/* Validates an address in any case and returns it in BlueZ's canonical upper-case form. */
int address_normalize(const char *s, char ret[static ADDRESS_STRING_MAX]) {
        bdaddr_t ba;

        if (!s || strlen(s) != ADDRESS_STRING_MAX - 1 || bachk(s) < 0)
                return -EINVAL;
        if (str2ba(s, &ba) < 0)
                return -EINVAL;
        ba2str(&ba, ret);
        return 0;
}

/* "AA:BB:…" → "AA_BB_…", the spelling of log files and of object path elements. */
void address_to_underscores(const char addr[static ADDRESS_STRING_MAX], char ret[static ADDRESS_STRING_MAX]) {
        for (int i = 0; i < ADDRESS_STRING_MAX - 1; i++)
                ret[i] = addr[i] == ':' ? '_' : addr[i];
        ret[ADDRESS_STRING_MAX - 1] = '\0';
}

/* "AA_BB_…" (e.g. a log file's name) → a validated canonical address. */
int address_from_underscores(const char *s, char ret[static ADDRESS_STRING_MAX]) {
        char buf[ADDRESS_STRING_MAX];

        if (!s || strlen(s) != ADDRESS_STRING_MAX - 1)
                return -EINVAL;
        for (int i = 0; i < ADDRESS_STRING_MAX - 1; i++) {
                if (i % 3 == 2 && s[i] != '_')
                        return -EINVAL;
                buf[i] = i % 3 == 2 ? ':' : s[i];
        }
        buf[ADDRESS_STRING_MAX - 1] = '\0';
        return address_normalize(buf, ret);
}
