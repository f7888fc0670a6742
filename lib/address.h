/* hpmon — Bluetooth addresses: parsed and printed by libbluetooth, spelt for files and object paths here. */
#pragma once

#include <stdbool.h>

/* "AA:BB:CC:DD:EE:FF" plus NUL */
#define ADDRESS_STRING_MAX 18

int address_normalize(const char *s, char ret[static ADDRESS_STRING_MAX]);
void address_to_underscores(const char addr[static ADDRESS_STRING_MAX], char ret[static ADDRESS_STRING_MAX]);
int address_from_underscores(const char *s, char ret[static ADDRESS_STRING_MAX]);
