/* Account numbers: MX_ACCT_RANDOM_DIGITS random digits followed by two ISO 7064 MOD 97-10 check
 * digits (the scheme of IBANs), so any single-digit substitution and any adjacent transposition of
 * a number is recognised without asking the database. */
#ifndef MONDUX_ACCOUNT_NUMBER_H
#define MONDUX_ACCOUNT_NUMBER_H

#include "mondux/status.h"

#define MX_ACCT_RANDOM_DIGITS 14
#define MX_ACCT_LENGTH        (MX_ACCT_RANDOM_DIGITS + 2)

/* Writes a fresh random account number (MX_ACCT_LENGTH digits and a NUL) into out, drawing from
 * the kernel CSPRNG (getrandom). Returns MX_OK, or MX_INTERNAL if the kernel gives no randomness.
 * Thread-safe. */
mx_status mx_acct_generate(char out[MX_ACCT_LENGTH + 1]);

/* 1 if text is exactly MX_ACCT_LENGTH ASCII digits whose check digits are right, else 0 (NULL
 * included). Thread-safe. */
int mx_acct_is_valid(const char *text);

#endif
