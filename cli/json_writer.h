/* Minimal JSON object writer for omvflashd --json: one flat object per line. */
#ifndef OMVFLASHD_JSON_WRITER_H
#define OMVFLASHD_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A flat JSON object being built in a fixed buffer (events are small). */
struct json_obj {
    char buf[4096];
    size_t len;
    int truncated;
};

/** Start an object: `{"event":"<event>"`. */
void json_begin(struct json_obj *o, const char *event);
/** Add "key":"value" (escaped); skipped when @p value is NULL. */
void json_str(struct json_obj *o, const char *key, const char *value);
/** Add "key":number. */
void json_u64(struct json_obj *o, const char *key, uint64_t value);
/** Add "key":true/false. */
void json_bool(struct json_obj *o, const char *key, int value);
/** Close the object and write it plus '\n' to @p f, then flush (consumers read line by line). */
void json_end(struct json_obj *o, FILE *f);
/**
 * Write @p s (NULL: "") to @p f as one JSON string, quoted and escaped as
 * json_str() does, for writers of nested objects (the --report record). A
 * string too long for the object buffer is written as a marker string.
 */
void json_write_str(FILE *f, const char *s);

#endif
