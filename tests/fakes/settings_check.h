/*
 * settings_check.h - compare two ota_settings_t field by field in a CMocka
 * test (the struct has padding, so memcmp would not do).
 */
#ifndef CELLOTA_TESTS_SETTINGS_CHECK_H
#define CELLOTA_TESTS_SETTINGS_CHECK_H

#include "cellota/ota_settings.h"

/* Fails the running test unless every field of a and b is equal. */
void assert_settings_equal(const ota_settings_t *a, const ota_settings_t *b);

#endif /* CELLOTA_TESTS_SETTINGS_CHECK_H */
