/*
 * fuzz_swrl_parse.c - libFuzzer target for the SWRL rule parser.
 *
 * Every input is parsed as a rules file. Inputs that parse are also run by the
 * engine over a small fact base when their rules are small enough to finish
 * quickly (at most 6 body atoms each), so the engine's join, built-ins and
 * provenance see the fuzzer's rules too. Built by scripts/fuzz-swrl.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "swrl/swrl_int.h"

static const char *const facts =
    "{\"g\": {\"classes\": [\"QueryGoal\"], \"goalType\": \"goal3\", \"quantity\": 50,"
    "  \"optimizationMode\": \"fast\", \"next\": {\"ref\": \"M1\"}},"
    " \"M1\": {\"classes\": [\"Model\"], \"purpose\": \"p\", \"accuracy\": 0.85,"
    "  \"capabilities\": [\"a\", \"fast_estimate\"], \"enabled\": true, \"next\": {\"ref\": "
    "\"M2\"}},"
    " \"M2\": {\"classes\": [\"Model\"], \"purpose\": \"p\", \"accuracy\": 0.7, \"avg\": 1}}";

static int small_enough(const qg_swrl_rules_t *rules)
{
    size_t i;

    for (i = 0; i < rules->n; i++)
        if (rules->rules[i].nbody > 6)
            return 0;
    return rules->n <= 16;
}

static void run_engine(const qg_swrl_rules_t *rules)
{
    qg_swrl_kb_t *kb = qg_swrl_kb_new();
    qg_json_t *ind = qg_json_parse(facts, strlen(facts), NULL, 0);
    qg_error_t *err = kb && ind ? qg_swrl_kb_add_individuals(kb, ind) : NULL;

    if (kb && ind && !err) {
        qg_swrl_kb_set_limit(kb, 2000);
        err = qg_swrl_run(rules, kb, NULL);
        if (!err)
            qg_json_destroy(qg_swrl_kb_query(kb, rules, "selectedModel", NULL));
    }
    qg_error_destroy(err);
    qg_json_destroy(ind);
    qg_swrl_kb_destroy(kb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qg_error_t *err = NULL;
    qg_swrl_rules_t *rules = qg_swrl_rules_parse((const char *)data, size, "fuzz", &err);

    if (!rules) {
        qg_error_destroy(err);
        return 0;
    }
    if (small_enough(rules))
        run_engine(rules);
    qg_swrl_rules_destroy(rules);
    return 0;
}
