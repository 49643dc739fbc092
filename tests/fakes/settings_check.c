/* Field-by-field settings comparison for CMocka tests. See settings_check.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "settings_check.h"

void assert_settings_equal(const ota_settings_t *a, const ota_settings_t *b)
{
    assert_string_equal(a->host, b->host);
    assert_int_equal(a->port, b->port);
    assert_string_equal(a->client_id, b->client_id);
    assert_string_equal(a->username, b->username);
    assert_string_equal(a->password, b->password);
    assert_string_equal(a->title, b->title);
    assert_string_equal(a->version, b->version);
    assert_int_equal(a->upgrade_pending, b->upgrade_pending);
}
