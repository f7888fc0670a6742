/* hpctl — how things look: colour, times, levels, sparklines, JSON. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

bool render_color(FILE *f);
const char *render_sgr(bool color, const char *code);
void render_time(char *buf, size_t size, double unix_s);
void render_ago(char *buf, size_t size, double now_s, double then_s);
const char *render_level_color(int percentage);
void render_sparkline(FILE *f, const int *levels, size_t n);
int render_json(FILE *f, struct json_object *o);
struct json_object *render_json_time(double unix_s);
struct json_object *render_json_number(double v);
