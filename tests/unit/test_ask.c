/*
 * test_ask.c - natural language -> QueryGoal: phrasings in English and Korean,
 * parameter extraction, errors, goal shape, and broken pattern files.
 */
#include <criterion/criterion.h>
#include <locale.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ask/ask.h"
#include "goal.h"

#define PATTERNS QG_SOURCE_DIR "/config/goal-patterns.yaml"
/* 2026-11-24T04:08:05Z */
#define NOW ((time_t)1795493285)

#define G1 "goal1_query_cooling_failure"
#define G3 "goal3_predict_production_time"
#define G4 "goal4_track_product_location"

typedef struct {
    const char *text;
    const char *type;
    const char *p1_key, *p1; /* string parameter */
    const char *p2_key;      /* second parameter: number (quantity) or date string */
    double num;
    const char *str;
} phrase_t;

static qg_ask_t *load(void)
{
    qg_error_t *err = NULL;
    qg_ask_t *ask = qg_ask_load(PATTERNS, &err);
    cr_assert_not_null(ask, "loading %s: %s", PATTERNS, qg_error_message(err));
    return ask;
}

static qg_json_t *build_ok(const qg_ask_t *ask, const char *text)
{
    qg_json_t *doc = NULL;
    qg_error_t *err = qg_ask_build_at(ask, text, NOW, &doc);
    cr_assert_null(err, "\"%s\": unexpected error: %s", text, qg_error_message(err));
    cr_assert_not_null(doc);
    return doc;
}

static char *build_err(const qg_ask_t *ask, const char *text)
{
    qg_json_t *doc = NULL;
    qg_error_t *err = qg_ask_build_at(ask, text, NOW, &doc);
    cr_assert_not_null(err, "\"%s\": expected an error, got a goal", text);
    cr_assert_null(doc);
    cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT, "\"%s\": class %s", text,
                 qg_error_class_name(qg_error_class(err)));
    char *msg = strdup(qg_error_message(err));
    qg_error_destroy(err);
    return msg;
}

static void check_phrase(const qg_ask_t *ask, const phrase_t *ph)
{
    qg_json_t *doc = build_ok(ask, ph->text);
    cr_expect_str_eq(qg_goal_type(doc), ph->type, "\"%s\": goalType", ph->text);
    char buf[64];
    const char *v = qg_goal_param_text(doc, ph->p1_key, buf, sizeof(buf));
    if (ph->p1)
        cr_expect(v && strcmp(v, ph->p1) == 0, "\"%s\": %s = %s, want %s", ph->text, ph->p1_key,
                  v ? v : "(none)", ph->p1);
    else
        cr_expect_null(v, "\"%s\": %s should be absent, got %s", ph->text, ph->p1_key, v);
    const qg_json_t *p2 = qg_json_get(qg_goal_param(doc, ph->p2_key), "value");
    if (ph->str)
        cr_expect(qg_json_str(p2) && strcmp(qg_json_str(p2), ph->str) == 0,
                  "\"%s\": %s = %s, want %s", ph->text, ph->p2_key,
                  qg_json_str(p2) ? qg_json_str(p2) : "(none)", ph->str);
    else if (ph->num > 0)
        cr_expect(qg_json_is(p2, QG_JSON_NUMBER) && qg_json_num(p2, -1) == ph->num,
                  "\"%s\": %s = %g (type %s), want number %g", ph->text, ph->p2_key,
                  qg_json_num(p2, -1), qg_json_type_name(qg_json_type(p2)), ph->num);
    else if (ph->p2_key)
        cr_expect_null(p2, "\"%s\": %s should be absent", ph->text, ph->p2_key);
    qg_json_destroy(doc);
}

/* ---------- goal3: predict production time ---------- */

static const phrase_t goal3_phrases[] = {
    {"Predict production time for product P-1001 quantity 50", G3, "productType", "P-1001",
     "quantity", 50, NULL},
    {"제품 P-1001 50개 생산 시간 예측", G3, "productType", "P-1001", "quantity", 50, NULL},
    {"  Predict   production\ttime for product   P-1001    quantity   50  ", G3, "productType",
     "P-1001", "quantity", 50, NULL},
    {"How long will it take to make 120 units of P-2001?", G3, "productType", "P-2001", "quantity",
     120, NULL},
    {"Estimate the production time of 50 units of product P-3001", G3, "productType", "P-3001",
     "quantity", 50, NULL},
    {"predict PRODUCTION TIME for product p-1001 qty 75", G3, "productType", "P-1001", "quantity",
     75, NULL},
    {"Forecast production time: product=P-1001, quantity=1,000", G3, "productType", "P-1001",
     "quantity", 1000, NULL},
    {"P-1001 제품 30개 생산하는데 얼마나 걸려?", G3, "productType", "P-1001", "quantity", 30, NULL},
    {"제품 P-2001을 수량 200으로 생산할 때 완료 시간 예측", G3, "productType", "P-2001", "quantity",
     200, NULL},
    {"생산 시간 예측: 제품 P-1001, 50 개", G3, "productType", "P-1001", "quantity", 50, NULL},
    {"What is the production time for 50 pcs of P-1001", G3, "productType", "P-1001", "quantity",
     50, NULL},
    {"When will 40 units of P-3001 be finished?", G3, "productType", "P-3001", "quantity", 40,
     NULL},
    {"Predict production time for product P-1001 with quantity of 25 units", G3, "productType",
     "P-1001", "quantity", 25, NULL},
    {"predict production time product P-1001 x 50", G3, "productType", "P-1001", "quantity", 50,
     NULL},
    {"Estimate production lead time for product ABC-12-X7 quantity 10", G3, "productType",
     "ABC-12-X7", "quantity", 10, NULL},
    {"Predict production time for product P_1001 quantity 5", G3, "productType", "P_1001",
     "quantity", 5, NULL},
    {"생산시간 예측 제품P-1001 수량50", G3, "productType", "P-1001", "quantity", 50, NULL},
    {"How long to produce 50 P-1001?", G3, "productType", "P-1001", "quantity", 50, NULL},
    {"Predict production time for product P-1001 quantity 50.", G3, "productType", "P-1001",
     "quantity", 50, NULL},
    {"Predict\u00a0production time for product P-1001\u3000quantity 50", G3, "productType",
     "P-1001", "quantity", 50, NULL},
    {"P-2001 100개 제작 기간 추정해줘", G3, "productType", "P-2001", "quantity", 100, NULL},
    {"Calculate the makespan to build 8 items of product P-3001", G3, "productType", "P-3001",
     "quantity", 8, NULL},
    {"P-1001 50개 만드는 데 몇 시간 걸려?", G3, "productType", "P-1001", "quantity", 50, NULL},
    {"How many hours to produce 60 units of P-2001", G3, "productType", "P-2001", "quantity", 60,
     NULL},
    {"time needed to build 12 pcs of product P-3001", G3, "productType", "P-3001", "quantity", 12,
     NULL},
    {"ETA for 50 units of P-1001", G3, "productType", "P-1001", "quantity", 50, NULL},
};

/* ---------- goal1: cooling failures ---------- */

static const phrase_t goal1_phrases[] = {
    {"Check cooling failure for machine M2", G1, "machineId", "M2", "date", 0, NULL},
    {"Show cooling failures yesterday", G1, "machineId", NULL, "date", 0, "2026-11-23"},
    {"어제 M2 기계 냉각 고장 조회", G1, "machineId", "M2", "date", 0, "2026-11-23"},
    {"Any cooling problems on M-3 on 2025-08-11?", G1, "machineId", "M-3", "date", 0, "2025-08-11"},
    {"냉각 장애 설비 M4 오늘", G1, "machineId", "M4", "date", 0, "2026-11-24"},
    {"Was there a coolant fault at machine m1 on 2025/08/10", G1, "machineId", "M1", "date", 0,
     "2025-08-10"},
    {"machine M2 overheating today?", G1, "machineId", "M2", "date", 0, "2026-11-24"},
    {"Cooling   failure   report the day before yesterday", G1, "machineId", NULL, "date", 0,
     "2026-11-22"},
    {"M3 냉각수 이상 있었어? 2025.8.9", G1, "machineId", "M3", "date", 0, "2025-08-09"},
    {"Where did the cooling failure happen on M2 yesterday?", G1, "machineId", "M2", "date", 0,
     "2026-11-23"},
    {"냉각 고장 어디서 났어? 기계 M1", G1, "machineId", "M1", "date", 0, NULL},
};

/* ---------- goal4: product location ---------- */

static const phrase_t goal4_phrases[] = {
    {"Where is product PRD-7?", G4, "productId", "PRD-7", NULL, 0, NULL},
    {"제품 PRD-7 위치 추적", G4, "productId", "PRD-7", NULL, 0, NULL},
    {"Track product P-1001", G4, "productId", "P-1001", NULL, 0, NULL},
    {"where's PRD-12 now", G4, "productId", "PRD-12", NULL, 0, NULL},
    {"PRD-7 어디 있어?", G4, "productId", "PRD-7", NULL, 0, NULL},
    {"Locate item X-99", G4, "productId", "X-99", NULL, 0, NULL},
    {"Find the location of lot L-2024-001", G4, "productId", "L-2024-001", NULL, 0, NULL},
    {"   WHERE   IS   PRODUCT   prd-7   ", G4, "productId", "PRD-7", NULL, 0, NULL},
    {"PRD-7 제품은 지금 어디에 있나요?", G4, "productId", "PRD-7", NULL, 0, NULL},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void check_all(const phrase_t *ph, size_t n)
{
    qg_ask_t *ask = load();
    for (size_t i = 0; i < n; i++)
        check_phrase(ask, &ph[i]);
    qg_ask_destroy(ask);
}

Test(ask, goal3_phrasings)
{
    check_all(goal3_phrases, N(goal3_phrases));
}

Test(ask, goal1_phrasings)
{
    check_all(goal1_phrases, N(goal1_phrases));
}

Test(ask, goal4_phrasings)
{
    check_all(goal4_phrases, N(goal4_phrases));
}

Test(ask, at_least_thirty_phrasings)
{
    cr_expect_geq(N(goal3_phrases) + N(goal1_phrases) + N(goal4_phrases), 30);
}

/* The same phrasings under a UTF-8 locale (regexes then match characters, not bytes). */
Test(ask, phrasings_in_utf8_locale)
{
    cr_assert_not_null(setlocale(LC_CTYPE, "C.UTF-8"), "C.UTF-8 locale not available");
    check_all(goal3_phrases, N(goal3_phrases));
    check_all(goal1_phrases, N(goal1_phrases));
    check_all(goal4_phrases, N(goal4_phrases));
}

/* Every example in the patterns file builds a goal of its own type. */
Test(ask, every_template_example_builds)
{
    qg_ask_t *ask = load();
    char *desc = qg_ask_describe(ask);
    cr_assert_not_null(desc);
    /* examples are listed in the description as lines `"..."` */
    size_t n = 0;
    for (char *p = strchr(desc, '"'); p; p = strchr(p, '"')) {
        char *end = strchr(p + 1, '"');
        cr_assert_not_null(end);
        char *text = strndup(p + 1, (size_t)(end - p - 1));
        qg_json_t *doc = build_ok(ask, text);
        cr_expect_neq(strstr(desc, qg_goal_type(doc)), NULL);
        qg_json_destroy(doc);
        free(text);
        n++;
        p = end + 1;
    }
    cr_expect_geq(n, 6, "expected at least two examples per goal type, got %zu", n);
    free(desc);
    qg_ask_destroy(ask);
}

/* ---------- the goal document ---------- */

Test(ask, goal3_document_shape)
{
    qg_ask_t *ask = load();
    qg_json_t *doc = build_ok(ask, "Predict production time for product P-1001 quantity 50");
    cr_expect_null(qg_goal_validate(doc, NULL));
    const char *id = qg_goal_id(doc);
    regex_t re;
    cr_assert_eq(regcomp(&re, "^goal3-20261124T040805Z-[0-9a-f]{8}$", REG_EXTENDED | REG_NOSUB), 0);
    cr_expect_eq(regexec(&re, id, 0, NULL, 0), 0, "goalId %s", id);
    regfree(&re);

    const qg_json_t *stages = qg_goal_pipeline(doc);
    cr_assert_eq(qg_json_len(stages), 3);
    cr_expect_str_eq(qg_json_str(qg_json_at(stages, 0)), "swrlSelection");
    cr_expect_str_eq(qg_json_str(qg_json_at(stages, 1)), "yamlBinding");
    cr_expect_str_eq(qg_json_str(qg_json_at(stages, 2)), "simulation");

    const qg_json_t *os = qg_json_path(doc, "QueryGoal.outputSpec");
    cr_assert_eq(qg_json_len(os), 4);
    cr_expect_str_eq(qg_json_str(qg_json_path(os, "[0].name")), "estimatedTime");
    cr_expect_str_eq(qg_json_str(qg_json_path(os, "[0].datatype")), "number");
    cr_expect_str_eq(qg_json_str(qg_json_path(os, "[0].unit")), "s");
    cr_expect_str_eq(qg_json_str(qg_json_path(os, "[2].name")), "productionPlan");
    cr_expect_str_eq(qg_json_str(qg_json_path(os, "[3].name")), "bottlenecks");

    const qg_json_t *md = qg_json_path(doc, "QueryGoal.metadata");
    cr_expect_str_eq(qg_json_str(qg_json_get(md, "category")), "Predict");
    cr_expect(qg_json_truthy(qg_json_get(md, "requiresModel")));
    cr_expect_str_eq(qg_json_str(qg_json_get(md, "language")), "en");
    cr_expect_str_eq(qg_json_str(qg_json_get(md, "createdAt")), "2026-11-24T04:08:05.000Z");

    char *text = qg_json_serialize(doc, 0, NULL);
    cr_expect_not_null(strstr(text, "{\"key\":\"quantity\",\"value\":50,\"type\":\"integer\","
                                    "\"required\":true}"),
                       "quantity must be a JSON number: %s", text);
    cr_expect_not_null(strstr(text, "{\"key\":\"productType\",\"value\":\"P-1001\""), "%s", text);
    cr_expect_null(strstr(text, "\"ion\""), "%s", text);
    cr_expect_null(strstr(text, "unknown"), "%s", text);
    free(text);
    qg_json_destroy(doc);
    qg_ask_destroy(ask);
}

Test(ask, goal1_and_goal4_shapes)
{
    qg_ask_t *ask = load();
    qg_json_t *doc = build_ok(ask, "Check cooling failure for machine M2");
    cr_expect_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.metadata.pipelineStages[0]")),
                     "aasQuery");
    cr_expect_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.metadata.pipelineStages[1]")),
                     "dataFiltering");
    cr_expect_not(qg_json_truthy(qg_json_path(doc, "QueryGoal.metadata.requiresModel")));
    cr_expect_eq(strncmp(qg_goal_id(doc), "goal1-", 6), 0);
    cr_expect_null(qg_goal_validate(doc, NULL));
    qg_json_destroy(doc);

    doc = build_ok(ask, "제품 PRD-7 위치 추적");
    cr_expect_eq(qg_json_len(qg_goal_pipeline(doc)), 2);
    cr_expect_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.metadata.pipelineStages[1]")),
                     "dataFiltering");
    cr_expect_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.metadata.language")), "ko");
    cr_expect_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.metadata.request")),
                     "제품 PRD-7 위치 추적");
    cr_expect_eq(strncmp(qg_goal_id(doc), "goal4-", 6), 0);
    qg_json_destroy(doc);
    qg_ask_destroy(ask);
}

Test(ask, goal_ids_are_unique)
{
    qg_ask_t *ask = load();
    enum { COUNT = 500 };
    char *ids[COUNT];
    for (int i = 0; i < COUNT; i++) {
        qg_json_t *doc = build_ok(ask, "Where is product PRD-7?");
        ids[i] = strdup(qg_goal_id(doc));
        qg_json_destroy(doc);
    }
    for (int i = 0; i < COUNT; i++)
        for (int j = i + 1; j < COUNT; j++)
            cr_assert_str_neq(ids[i], ids[j], "duplicate goalId %s", ids[i]);
    for (int i = 0; i < COUNT; i++)
        free(ids[i]);
    qg_ask_destroy(ask);
}

Test(ask, real_clock_build)
{
    qg_ask_t *ask = load();
    qg_json_t *doc = NULL;
    qg_error_t *err = qg_ask_build(ask, "Show cooling failures today", &doc);
    cr_assert_null(err, "%s", qg_error_message(err));
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    strftime(today, sizeof(today), "%Y-%m-%d", gmtime_r(&now, &tm));
    cr_expect_str_eq(qg_json_str(qg_json_get(qg_goal_param(doc, "date"), "value")), today);
    qg_json_destroy(doc);
    qg_ask_destroy(ask);
}

/* ---------- errors ---------- */

Test(ask, production_never_becomes_ion)
{
    qg_ask_t *ask = load();
    const char *texts[] = {
        "Predict production time for 50 units",
        "production time prediction quantity 50",
        "Estimate production for quantity 50",
    };
    for (size_t i = 0; i < N(texts); i++) {
        char *msg = build_err(ask, texts[i]);
        cr_expect_not_null(strstr(msg, "productType"), "\"%s\": %s", texts[i], msg);
        cr_expect_null(strstr(msg, "\"ion\""), "%s", msg);
        free(msg);
    }
    qg_ask_destroy(ask);
}

Test(ask, missing_quantity_is_a_clear_error)
{
    qg_ask_t *ask = load();
    const char *texts[] = {
        "Predict production time for product P-1001",
        "제품 P-1001 생산 시간 예측",
        "Predict production time for product P-1001 quantity",
        "Predict production time for product P-1001 quantity lots",
    };
    for (size_t i = 0; i < N(texts); i++) {
        char *msg = build_err(ask, texts[i]);
        cr_expect_not_null(strstr(msg, "quantity"), "\"%s\": %s", texts[i], msg);
        cr_expect_not_null(strstr(msg, "50개"), "\"%s\": the hint shows how: %s", texts[i], msg);
        cr_expect_not_null(strstr(msg, G3), "%s", msg);
        free(msg);
    }
    qg_ask_destroy(ask);
}

Test(ask, quantity_out_of_range)
{
    qg_ask_t *ask = load();
    char *msg = build_err(ask, "Predict production time for product P-1001 quantity 0");
    cr_expect_not_null(strstr(msg, "between 1 and 1000000"), "%s", msg);
    free(msg);
    msg = build_err(ask, "제품 P-1001 5,000,000개 생산 시간 예측");
    cr_expect_not_null(strstr(msg, "quantity must be between"), "%s", msg);
    free(msg);
    qg_ask_destroy(ask);
}

Test(ask, missing_product_ids)
{
    qg_ask_t *ask = load();
    char *msg = build_err(ask, "Where is it?");
    cr_expect_not_null(strstr(msg, "productId"), "%s", msg);
    free(msg);
    msg = build_err(ask, "Where is the product?");
    cr_expect_not_null(strstr(msg, "productId"), "%s", msg);
    free(msg);
    qg_ask_destroy(ask);
}

Test(ask, unknown_request_lists_what_it_can_do)
{
    qg_ask_t *ask = load();
    const char *texts[] = {"What's the weather like?", "안녕하세요", "P-1001 50",
                           "delete all machines"};
    for (size_t i = 0; i < N(texts); i++) {
        char *msg = build_err(ask, texts[i]);
        cr_expect_not_null(strstr(msg, G1), "%s", msg);
        cr_expect_not_null(strstr(msg, G3), "%s", msg);
        cr_expect_not_null(strstr(msg, G4), "%s", msg);
        cr_expect_not_null(strstr(msg, "Predict production time for product P-1001 quantity 50"),
                           "%s", msg);
        cr_expect_not_null(strstr(msg, "Where is product PRD-7?"), "%s", msg);
        cr_expect_not_null(strstr(msg, "Check cooling failure for machine M2"), "%s", msg);
        cr_expect_null(strstr(msg, "\"unknown\""), "%s", msg);
        free(msg);
    }
    qg_ask_destroy(ask);
}

Test(ask, ambiguous_request)
{
    qg_ask_t *ask = load();
    char *msg =
        build_err(ask, "Where is product P-1001 and how long does production take for 5 units?");
    cr_expect_not_null(strstr(msg, "ambiguous"), "%s", msg);
    free(msg);
    qg_ask_destroy(ask);
}

Test(ask, bad_text)
{
    qg_ask_t *ask = load();
    char *msg = build_err(ask, "");
    cr_expect_not_null(strstr(msg, "empty"), "%s", msg);
    cr_expect_not_null(strstr(msg, G3), "%s", msg);
    free(msg);
    msg = build_err(ask, " \t\n ");
    cr_expect_not_null(strstr(msg, "empty"), "%s", msg);
    free(msg);
    msg = build_err(ask, "Where is product \xff\xfe PRD-7");
    cr_expect_not_null(strstr(msg, "UTF-8"), "%s", msg);
    free(msg);
    msg = build_err(ask, "Where is product \x01 PRD-7");
    cr_expect_not_null(strstr(msg, "UTF-8"), "%s", msg);
    free(msg);
    msg = build_err(ask, "Where is \xed\xa0\x80 PRD-7"); /* a UTF-16 surrogate */
    cr_expect_not_null(strstr(msg, "UTF-8"), "%s", msg);
    free(msg);
    char *big = malloc(QG_ASK_MAX_TEXT + 2);
    memset(big, 'a', QG_ASK_MAX_TEXT + 1);
    big[QG_ASK_MAX_TEXT + 1] = '\0';
    msg = build_err(ask, big);
    cr_expect_not_null(strstr(msg, "too long"), "%s", msg);
    free(msg);
    free(big);

    qg_json_t *doc = (qg_json_t *)1;
    qg_error_t *err = qg_ask_build(ask, NULL, &doc);
    cr_expect_not_null(err);
    cr_expect_null(doc);
    qg_error_destroy(err);
    err = qg_ask_build(NULL, "Where is product PRD-7?", &doc);
    cr_expect_not_null(err);
    qg_error_destroy(err);
    err = qg_ask_build(ask, "Where is product PRD-7?", NULL);
    cr_expect_not_null(err);
    qg_error_destroy(err);
    qg_ask_destroy(ask);
}

Test(ask, long_unknown_text_is_quoted_short)
{
    qg_ask_t *ask = load();
    char text[1200];
    size_t o = 0;
    while (o + 4 < sizeof(text))
        o += (size_t)snprintf(text + o, sizeof(text) - o, "가나 ");
    char *msg = build_err(ask, text);
    cr_expect_lt(strlen(msg), 1600, "message too long: %zu", strlen(msg));
    cr_expect_not_null(strstr(msg, "...\""), "%s", msg);
    free(msg);
    qg_ask_destroy(ask);
}

/* ---------- describe ---------- */

Test(ask, describe_lists_goal_types)
{
    qg_ask_t *ask = load();
    char *d = qg_ask_describe(ask);
    cr_assert_not_null(d);
    cr_expect_not_null(strstr(d, G1));
    cr_expect_not_null(strstr(d, G3));
    cr_expect_not_null(strstr(d, G4));
    cr_expect_not_null(strstr(d, "quantity (required, 1..1000000)"), "%s", d);
    cr_expect_not_null(strstr(d, "date (optional"), "%s", d);
    cr_expect_eq(qg_ask_goal_count(ask), 3);
    free(d);
    qg_ask_destroy(ask);
}

/* ---------- pattern files ---------- */

static char *load_err(const char *yaml)
{
    qg_error_t *err = NULL;
    qg_ask_t *ask = qg_ask_load_string(yaml, strlen(yaml), "t.yaml", &err);
    cr_assert_null(ask, "expected a load error for:\n%s", yaml);
    cr_assert_not_null(err);
    char *msg = strdup(qg_error_message(err));
    qg_error_destroy(err);
    return msg;
}

#define GOAL_ITEM "  - goalType: g\n    pipelineStages: [aasQuery]\n    patterns: ['x']\n"
#define GOAL_HEAD "goals:\n" GOAL_ITEM

Test(ask_load, broken_files)
{
    struct {
        const char *yaml, *want;
    } cases[] = {
        {"goals: [", "YAML error"},
        {"- a\n- b\n", "expected a mapping"},
        {"goals: []\n", "non-empty list"},
        {"goals:\n  - goalType: g\n    pipelineStages: [aasQuery]\n    patterns: ['(']\n",
         "goals[0].patterns[0]: regex does not compile"},
        {"goals:\n  - goalType: g\n    patterns: ['x']\n", "pipelineStages"},
        {"goals:\n  - pipelineStages: [a]\n    patterns: ['x']\n", "goalType"},
        {GOAL_HEAD "    parameters:\n      - key: k\n        patterns: ['no slot']\n",
         "goals[0].parameters[0].patterns[0]: a parameter pattern needs exactly one slot"},
        {GOAL_HEAD "    parameters:\n      - key: k\n        patterns: ['{id} {int}']\n",
         "found 2"},
        {GOAL_HEAD "    parameters:\n      - key: k\n        type: colour\n        patterns: "
                   "['{id}']\n",
         "unknown type"},
        {GOAL_HEAD "    parameters:\n      - patterns: ['{id}']\n", "key: required"},
        {GOAL_HEAD "    parameters:\n      - key: k\n        shape: '['\n        patterns: "
                   "['{id}']\n",
         "shape: regex does not compile"},
        {GOAL_HEAD "    parameters:\n      - key: k\n        min: 5\n        max: 1\n"
                   "        patterns: ['{int}']\n",
         "min is above max"},
        {GOAL_HEAD GOAL_ITEM, "defined twice"},
        {"relativeDates: {today: soon}\n" GOAL_HEAD, "whole number of days"},
        {"goals: 1\ngoals: 2\n", "duplicate key"},
        {GOAL_HEAD "    parameters:\n      - key: k\n        patterns: ['(a)(b)(c)(d)(e)(f)(g)"
                   "(h)(i)(j)(k)(l)(m)(n)(o)(p){id}']\n",
         "first 15 groups"},
        {"a: &x [*x]\n", "aliases"},
        {"", "empty"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char *msg = load_err(cases[i].yaml);
        cr_expect_not_null(strstr(msg, cases[i].want), "case %zu: want \"%s\" in: %s", i,
                           cases[i].want, msg);
        cr_expect_not_null(strstr(msg, "t.yaml"), "case %zu names the file: %s", i, msg);
        free(msg);
    }
}

Test(ask_load, relative_dates_any_case)
{
    const char *yaml = "relativeDates: {Today: 0, \"Vorgestern\": -2}\n"
                       "goals:\n  - goalType: g\n    pipelineStages: [aasQuery]\n"
                       "    patterns: ['report']\n    parameters:\n      - key: date\n"
                       "        type: date\n        patterns: ['{date}']\n";
    qg_error_t *err = NULL;
    qg_ask_t *ask = qg_ask_load_string(yaml, strlen(yaml), "t.yaml", &err);
    cr_assert_not_null(ask, "%s", qg_error_message(err));
    const char *texts[] = {"report today", "report TODAY", "report vorgestern"};
    const char *want[] = {"2026-11-24", "2026-11-24", "2026-11-22"};
    for (size_t i = 0; i < 3; i++) {
        qg_json_t *doc = NULL;
        err = qg_ask_build_at(ask, texts[i], NOW, &doc);
        cr_assert_null(err, "%s", qg_error_message(err));
        cr_expect_str_eq(qg_json_str(qg_json_get(qg_goal_param(doc, "date"), "value")), want[i],
                         "%s", texts[i]);
        qg_json_destroy(doc);
    }
    qg_ask_destroy(ask);
}

Test(ask_load, missing_file)
{
    qg_error_t *err = NULL;
    cr_expect_null(qg_ask_load("/nonexistent/patterns.yaml", &err));
    cr_expect_not_null(strstr(qg_error_message(err), "/nonexistent/patterns.yaml"));
    qg_error_destroy(err);
    cr_expect_null(qg_ask_load(NULL, &err));
    qg_error_destroy(err);
}

Test(ask_load, custom_template_and_extra_stages)
{
    const char *yaml = "goals:\n"
                       "  - goalType: goal9_count_units\n"
                       "    idPrefix: g9\n"
                       "    pipelineStages: [myStage]\n"
                       "    outputSpec: [count]\n"
                       "    patterns: ['\\bcount\\b']\n"
                       "    parameters:\n"
                       "      - key: n\n"
                       "        type: number\n"
                       "        required: true\n"
                       "        patterns: ['by {int}']\n";
    qg_error_t *err = NULL;
    qg_ask_t *ask = qg_ask_load_string(yaml, strlen(yaml), "t.yaml", &err);
    cr_assert_not_null(ask, "%s", qg_error_message(err));
    qg_json_t *doc = NULL;
    err = qg_ask_build_at(ask, "count by 3", NOW, &doc);
    cr_expect_not_null(err, "myStage is not a known stage yet");
    cr_expect_not_null(strstr(qg_error_message(err), "myStage"), "%s", qg_error_message(err));
    qg_error_destroy(err);
    cr_assert_eq(qg_ask_set_extra_stages(ask, "myStage"), 0);
    err = qg_ask_build_at(ask, "count by 3", NOW, &doc);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_expect_eq(strncmp(qg_goal_id(doc), "g9-", 3), 0);
    cr_expect_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.outputSpec[0].name")), "count");
    cr_expect_eq(qg_json_num(qg_json_get(qg_goal_param(doc, "n"), "value"), 0), 3);
    qg_json_destroy(doc);
    qg_ask_destroy(ask);
}

/* ---------- random requests ---------- */

/* Random mixes of keywords, ids, numbers and noise: a goal of a known type or a bad_input. */
Test(ask, random_requests_give_a_goal_or_a_clear_error)
{
    static const char *const vocab[] = {
        "predict",   "production",  "time",    "for",  "product",    "P-1001",   "quantity",
        "50",        "units",       "제품",    "50개", "생산",       "시간",     "예측",
        "cooling",   "failure",     "machine", "M2",   "어제",       "냉각",     "고장",
        "where",     "is",          "PRD-7",   "위치", "추적",       "track",    "2025-08-11",
        "yesterday", "1,000",       "-",       "?",    "  ",         "\t",       "x",
        "0",         "999999999",   "qty",     "=",    ":",          "ion",      "of",
        "개",        "how",         "long",    "make", "2025-02-30", "\xc2\xa0", "lot",
        "L-1",       "\xe3\x80\x80"};
    const size_t nv = sizeof(vocab) / sizeof(vocab[0]);
    qg_ask_t *ask = load();
    unsigned seed = 12345;
    size_t goals = 0, errors = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char text[512] = "";
        int words = 1 + (int)(rand_r(&seed) % 12);
        for (int w = 0; w < words; w++) {
            strncat(text, vocab[rand_r(&seed) % nv], sizeof(text) - strlen(text) - 2);
            if (rand_r(&seed) % 4)
                strcat(text, " ");
        }
        if (rand_r(&seed) % 50 == 0)
            text[rand_r(&seed) % (strlen(text) + 1)] = (char)(0x80 + rand_r(&seed) % 0x80);
        qg_json_t *doc = NULL;
        qg_error_t *err = qg_ask_build_at(ask, text, NOW, &doc);
        if (err) {
            cr_assert_eq(qg_error_class(err), QG_ERR_BAD_INPUT, "\"%s\": %s", text,
                         qg_error_message(err));
            cr_assert_gt(strlen(qg_error_message(err)), 10);
            qg_error_destroy(err);
            errors++;
            continue;
        }
        const char *type = qg_goal_type(doc);
        cr_assert(strcmp(type, G1) == 0 || strcmp(type, G3) == 0 || strcmp(type, G4) == 0,
                  "\"%s\": goalType %s", text, type);
        cr_assert_null(qg_goal_validate(doc, NULL), "\"%s\"", text);
        char buf[64];
        const char *pt = qg_goal_param_text(doc, "productType", buf, sizeof(buf));
        cr_assert(!pt || strcasecmp(pt, "ion") != 0, "\"%s\": productType ion", text);
        qg_json_destroy(doc);
        goals++;
    }
    cr_expect_gt(goals, 100, "random requests built %zu goals", goals);
    cr_expect_gt(errors, 100, "random requests gave %zu errors", errors);
    qg_ask_destroy(ask);
}

Test(ask, goal1_spans_ending_now)
{
    qg_ask_t *ask = load();
    static const char *const cases[][2] = {
        {"Cooling failures on machine M3 in the last 24 hours", "last 24 h"},
        {"최근 48시간 M2 냉각 고장", "last 48 h"},
        {"show cooling alarms over the past 7 days", "last 7 d"},
        {"coolant problems in the last 30 min", "last 30 min"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        qg_json_t *doc = build_ok(ask, cases[i][0]);
        cr_expect_str_eq(qg_json_str(qg_json_get(qg_goal_param(doc, "date"), "value")), cases[i][1],
                         "%s", cases[i][0]);
        qg_json_destroy(doc);
    }
    qg_ask_destroy(ask);
}
