/* Shared test helpers. */
#pragma once

#include <glib.h>

/* Runs a call that reports through `error`, failing with its message. */
#define CHECK(call) G_STMT_START {        \
    gboolean check_ok_ = (call);          \
    g_assert_no_error (error);            \
    g_assert_true (check_ok_);            \
  } G_STMT_END
