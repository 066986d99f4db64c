// core/field_rule_columns.h: the words of the allowed-values column of a settings table
// (config.h's MEDPIPE_CONFIG_FIELDS, features/settings.h's), as FieldRules. Included only by the
// .cpp files that expand a table, after their other includes.
#pragma once
#include "core/field_rule.h"

#define ANY ::medpipe::FieldRule::any()
#define CHOICE ::medpipe::FieldRule::any()  // an enum's names: the field's type gives them
#define RANGE(lo, hi) ::medpipe::FieldRule::range(lo, hi)
#define ABOVE(lo) ::medpipe::FieldRule::above(lo)
#define ONE_OF(...) ::medpipe::FieldRule::one_of({__VA_ARGS__})
#define LIST_OF(...) ::medpipe::FieldRule::list_of({__VA_ARGS__})
