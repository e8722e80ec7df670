/* Goal types declared once: the parameter check, the stage check, time ranges, the filter. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "goaltype.h"
#include "timerange.h"

static qg_goaltypes_t *load_project(void)
{
    qg_goaltypes_t *gt = NULL;
    qg_error_t *err = qg_goaltypes_load(QG_SOURCE_DIR "/config/goal-patterns.yaml", &gt);
    cr_assert_null(err, "%s", qg_error_message(err));
    return gt;
}

static qg_json_t *goal(const char *type, const char *params)
{
    char text[2048], err[256];
    snprintf(text, sizeof(text),
             "{\"QueryGoal\":{\"goalId\":\"g\",\"goalType\":\"%s\",\"parameters\":[%s],"
             "\"metadata\":{\"pipelineStages\":[\"aasQuery\"]}}}",
             type, params);
    qg_json_t *doc = qg_json_parse(text, strlen(text), err, sizeof(err));
    cr_assert_not_null(doc, "%s", err);
    return doc;
}

static void expect_refused(const qg_goaltypes_t *gt, const char *type, const char *params,
                           const char *msg)
{
    qg_json_t *doc = goal(type, params);
    qg_error_t *err = qg_goaltypes_check_goal(gt, doc);
    cr_expect_eq(qg_error_class(err), QG_ERR_BAD_INPUT, "%s [%s] accepted", type, params);
    cr_expect_not_null(strstr(qg_error_message(err), msg), "\"%s\" not in \"%s\"", msg,
                       qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(doc);
}

static void expect_accepted(const qg_goaltypes_t *gt, const char *type, const char *params)
{
    qg_json_t *doc = goal(type, params);
    qg_error_t *err = qg_goaltypes_check_goal(gt, doc);
    cr_expect_null(err, "%s [%s]: %s", type, params, qg_error_message(err));
    qg_error_destroy(err);
    qg_json_destroy(doc);
}

#define G3 "goal3_predict_production_time"
#define G1 "goal1_query_cooling_failure"
#define G4 "goal4_track_product_location"
#define PT "{\"key\":\"productType\",\"value\":\"P-1001\"},"

Test(goaltype, project_declarations_check_quantity)
{
    qg_goaltypes_t *gt = load_project();
    expect_accepted(gt, G3, PT "{\"key\":\"quantity\",\"value\":50}");
    expect_accepted(gt, G3, PT "{\"key\":\"quantity\",\"value\":1000000}");
    expect_refused(gt, G3, PT "{\"key\":\"quantity\",\"value\":2.5}",
                   "(quantity): must be a whole");
    expect_refused(gt, G3, PT "{\"key\":\"quantity\",\"value\":0}", "between 1 and 1000000, got 0");
    expect_refused(gt, G3, PT "{\"key\":\"quantity\",\"value\":-4}", "(quantity)");
    expect_refused(gt, G3, PT "{\"key\":\"quantity\",\"value\":1000001}", "(quantity)");
    expect_refused(gt, G3, PT "{\"key\":\"quantity\",\"value\":\"50\"}", "must be a JSON number");
    expect_refused(gt, G3, PT "{\"key\":\"quantity\",\"value\":null}", "(quantity)");
    expect_refused(gt, G3, "{\"key\":\"productType\",\"value\":\"P-1\"}",
                   "needs the parameter quantity");
    expect_refused(gt, G3, "{\"key\":\"quantity\",\"value\":5}", "needs the parameter productType");
    expect_refused(gt, G3,
                   "{\"key\":\"productType\",\"value\":\"../etc\"},"
                   "{\"key\":\"quantity\",\"value\":5}",
                   "(productType)");
    qg_goaltypes_destroy(gt);
}

Test(goaltype, project_declarations_check_ids_and_dates)
{
    qg_goaltypes_t *gt = load_project();
    expect_accepted(gt, G1, "");
    expect_accepted(gt, G1,
                    "{\"key\":\"machineId\",\"value\":\"M2\"},"
                    "{\"key\":\"date\",\"value\":\"2026-11-29\"}");
    expect_accepted(gt, G1, "{\"key\":\"date\",\"value\":\"last 24 h\"}");
    expect_accepted(gt, G1, "{\"key\":\"date\",\"value\":\"yesterday\"}");
    expect_refused(gt, G1, "{\"key\":\"machineId\",\"value\":\"M2 OR 1=1\"}", "(machineId)");
    expect_refused(gt, G1, "{\"key\":\"machineId\",\"value\":\"\"}", "(machineId)");
    expect_refused(gt, G1, "{\"key\":\"date\",\"value\":\"2026-02-30\"}", "(date)");
    expect_refused(gt, G1, "{\"key\":\"date\",\"value\":\"last week-ish\"}", "(date)");
    expect_refused(gt, G4, "", "needs the parameter productId");
    expect_refused(gt, G4, "{\"key\":\"productId\",\"value\":7}", "(productId)");
    expect_refused(gt, G4,
                   "{\"key\":\"productId\",\"value\":\"PRD-7\"},"
                   "{\"key\":\"productId\",\"value\":\"PRD-8\"}",
                   "given more than once");
    /* Undeclared goal types and undeclared parameters pass. */
    expect_accepted(gt, "someone_elses_goal", "{\"key\":\"x\",\"value\":-1}");
    expect_accepted(gt, G4,
                    "{\"key\":\"productId\",\"value\":\"PRD-7\"},"
                    "{\"key\":\"priority\",\"value\":\"rush\"}");
    qg_goaltypes_destroy(gt);
}

static int served_by_project(const char *stage, void *opaque)
{
    (void)opaque;
    static const char *const stages[] = {"swrlSelection", "yamlBinding",   "simulation",
                                         "aasQuery",      "dataFiltering", NULL};
    for (size_t i = 0; stages[i]; i++)
        if (!strcmp(stages[i], stage))
            return 1;
    return 0;
}

static int served_without_filtering(const char *stage, void *opaque)
{
    return strcmp(stage, "dataFiltering") != 0 && served_by_project(stage, opaque);
}

Test(goaltype, every_stage_named_needs_a_worker)
{
    qg_goaltypes_t *gt = load_project();
    qg_error_t *err = qg_goaltypes_check_stages(gt, served_by_project, NULL);
    cr_expect_null(err, "%s", qg_error_message(err));
    err = qg_goaltypes_check_stages(gt, served_without_filtering, NULL);
    cr_expect_not_null(err);
    cr_expect_not_null(strstr(qg_error_message(err), "needs the stage dataFiltering"), "%s",
                       qg_error_message(err));
    qg_error_destroy(err);
    qg_goaltypes_destroy(gt);
}

Test(goaltype, bad_declarations_are_refused_at_load)
{
    static const char *const bad[][2] = {
        {"goals: 3\n", "`goals:` list"},
        {"goals:\n  - pipelineStages: [a]\n", "goalType is missing"},
        {"goals:\n  - goalType: t\n", "pipelineStages must list"},
        {"goals:\n  - goalType: t\n    pipelineStages: [a]\n    parameters:\n      - {key: q, "
         "type: float}\n",
         "type must be string, integer, number or date"},
        {"goals:\n  - goalType: t\n    pipelineStages: [a]\n    parameters:\n      - {key: q, "
         "type: string, shape: '(' }\n",
         "shape is not a valid regex"},
        {"goals:\n  - {goalType: t, pipelineStages: [a]}\n  - {goalType: t, pipelineStages: [b]}\n",
         "declared twice"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        qg_goaltypes_t *gt = NULL;
        qg_error_t *err = qg_goaltypes_parse(bad[i][0], strlen(bad[i][0]), "t.yaml", ".", &gt);
        cr_expect_null(gt);
        cr_expect_not_null(strstr(qg_error_message(err), bad[i][1]), "\"%s\" not in \"%s\"",
                           bad[i][1], qg_error_message(err));
        qg_error_destroy(err);
    }
}

#define DAY 86400000.0

Test(timerange, dates_days_and_spans)
{
    double ms, now;
    int is_date;
    qg_time_range_t r;
    cr_assert_eq(qg_time_parse("2026-11-29", &ms, &is_date), 0);
    cr_expect(is_date);
    cr_expect_eq(ms, 1795910400000.0); /* date -u -d 2026-11-29 +%s */
    cr_assert_eq(qg_time_parse("2026-11-29T06:05:00Z", &now, &is_date), 0);
    cr_expect_eq(now, ms + 6 * 3600000.0 + 5 * 60000.0);
    cr_assert_eq(qg_time_parse("2026-11-29T15:05:00.500+09:00", &now, &is_date), 0);
    cr_expect_eq(now, ms + 6 * 3600000.0 + 5 * 60000.0 + 500);
    cr_expect_eq(qg_time_parse("2026-02-29", &ms, &is_date), -1);
    cr_expect_eq(qg_time_parse("2024-02-29", &ms, &is_date), 0);
    cr_expect_eq(qg_time_parse("2026-11-29T25:00:00Z", &ms, &is_date), -1);
    cr_expect_eq(qg_time_parse("2026-11-29x", &ms, &is_date), -1);

    qg_time_parse("2026-11-30T10:00:00Z", &now, &is_date);
    cr_assert_eq(qg_time_range_parse("yesterday", now, &r), 0);
    qg_time_parse("2026-11-29", &ms, &is_date);
    cr_expect(r.from_ms == ms && r.to_ms == ms + DAY);
    cr_assert_eq(qg_time_range_parse("last 24 h", now, &r), 0);
    cr_expect(r.from_ms == now - DAY && r.to_ms == now);
    cr_assert_eq(qg_time_range_parse("Last 7 days", now, &r), 0);
    cr_expect(r.from_ms == now - 7 * DAY);
    cr_assert_eq(qg_time_range_parse("last 30min", now, &r), 0);
    cr_expect(r.from_ms == now - 1800000.0);
    cr_expect_eq(qg_time_range_parse("last 0 h", now, &r), -1);
    cr_expect_eq(qg_time_range_parse("last week", now, &r), -1);
    cr_expect(qg_time_range_contains(&r, now - 1) && !qg_time_range_contains(&r, now));
}

static qg_json_t *json(const char *text)
{
    char err[256];
    qg_json_t *v = qg_json_parse(text, strlen(text), err, sizeof(err));
    cr_assert_not_null(v, "%s: %s", err, text);
    return v;
}

#define RECORDS                                                                                    \
    "{\"alarms\":["                                                                                \
    "{\"Id\":\"A3\",\"M\":\"M2\",\"T\":\"2026-11-29T14:35:00Z\",\"Cat\":\"cooling\",\"J\":\"J2\"}" \
    ","                                                                                            \
    "{\"Id\":\"A1\",\"M\":\"M2\",\"T\":\"2026-11-29T06:05:00Z\",\"Cat\":\"cooling\",\"J\":\"J1\"}" \
    ","                                                                                            \
    "{\"Id\":\"A2\",\"M\":\"M1\",\"T\":\"2026-11-29T07:00:00Z\",\"Cat\":\"spindle\"},"             \
    "{\"Id\":\"A4\",\"M\":\"M3\",\"T\":\"2026-11-30T09:10:00Z\",\"Cat\":\"cooling\"}],"            \
    "\"jobs\":[{\"J\":\"J1\",\"S\":\"FAILED\"},{\"J\":\"J2\",\"S\":\"FAILED\"},{\"J\":\"J1\","     \
    "\"S\":\"RETRY\"}],"                                                                           \
    "\"temps\":[{\"T\":\"2026-11-29T06:00:00Z\",\"C\":38.5},{\"T\":\"2026-11-29T06:30:00Z\","      \
    "\"C\":22},{\"T\":\"2026-11-29T07:00:00Z\",\"C\":39}]}"

#define SPEC                                                                                       \
    "{\"sets\":[{\"name\":\"f\",\"from\":\"alarms\",\"where\":[{\"field\":\"Cat\",\"eq\":"         \
    "\"cooling\"},{\"field\":\"M\",\"eq\":\"${param:machineId}\"}],\"timeWindow\":{\"field\":"     \
    "\"T\"},\"sort\":[{\"field\":\"T\"}],\"limit\":10,\"select\":{\"id\":\"Id\",\"m\":\"M\","      \
    "\"t\":\"T\",\"j\":\"J\"},\"attach\":[{\"as\":\"log\",\"from\":\"jobs\",\"match\":{\"J\":"     \
    "\"j\"}},{\"as\":\"hot\",\"from\":\"temps\",\"around\":{\"field\":\"T\",\"of\":\"t\","         \
    "\"minutes\":30},\"where\":[{\"field\":\"C\",\"gt\":30}]}]},"                                  \
    "{\"name\":\"latest\",\"from\":\"f\",\"sort\":[{\"field\":\"t\",\"order\":\"desc\"}],"         \
    "\"limit\":1}],"                                                                               \
    "\"outputs\":{\"failures\":{\"set\":\"f\"},\"n\":{\"count\":\"f\"},\"by\":{\"groupCount\":"    \
    "\"f\",\"by\":\"m\"},\"last\":{\"first\":\"latest\",\"missing\":\"none for "                   \
    "${param:machineId}\"}}}"

static void run_filter(const char *params, const qg_time_range_t *range, qg_json_t **outputs,
                       qg_json_t **missing, qg_json_t **sets)
{
    qg_json_t *spec = json(SPEC), *records = json(RECORDS);
    qg_json_t *doc = goal("t", params);
    qg_filter_input_t in = {spec, doc, records, range};
    qg_error_t *err = qg_filter_run(&in, outputs, missing, sets);
    cr_assert_null(err, "%s", qg_error_message(err));
    qg_json_destroy(spec);
    qg_json_destroy(records);
    qg_json_destroy(doc);
}

static void expect_json(const qg_json_t *v, const char *want)
{
    qg_json_t *w = json(want);
    char *got = qg_json_serialize(v, 0, NULL);
    cr_expect(qg_json_equal(v, w), "want %s\n got %s", want, got);
    free(got);
    qg_json_destroy(w);
}

Test(filter, where_window_sort_select_attach_group)
{
    qg_json_t *out, *missing, *sets;
    qg_time_range_t day;
    qg_time_range_parse("2026-11-29", 0, &day);
    run_filter("{\"key\":\"machineId\",\"value\":\"M2\"}", &day, &out, &missing, &sets);
    expect_json(qg_json_get(out, "failures"),
                "[{\"id\":\"A1\",\"m\":\"M2\",\"t\":\"2026-11-29T06:05:00Z\",\"j\":\"J1\","
                "\"log\":[{\"J\":\"J1\",\"S\":\"FAILED\"},{\"J\":\"J1\",\"S\":\"RETRY\"}],"
                "\"hot\":[{\"T\":\"2026-11-29T06:00:00Z\",\"C\":38.5}]},"
                "{\"id\":\"A3\",\"m\":\"M2\",\"t\":\"2026-11-29T14:35:00Z\",\"j\":\"J2\","
                "\"log\":[{\"J\":\"J2\",\"S\":\"FAILED\"}],\"hot\":[]}]");
    expect_json(qg_json_get(out, "n"), "2");
    expect_json(qg_json_get(out, "by"), "[{\"m\":\"M2\",\"count\":2}]");
    expect_json(qg_json_get(qg_json_get(out, "last"), "id"), "\"A3\"");
    expect_json(sets, "{\"f\":2,\"latest\":1}");
    qg_json_destroy(out);
    qg_json_destroy(missing);
    qg_json_destroy(sets);
}

Test(filter, absent_parameter_drops_its_predicate_and_empty_sets_say_why)
{
    qg_json_t *out, *missing, *sets;
    run_filter("", NULL, &out, &missing, &sets);
    expect_json(qg_json_get(out, "n"), "3");
    expect_json(qg_json_get(out, "by"), "[{\"m\":\"M2\",\"count\":2},{\"m\":\"M3\",\"count\":1}]");
    qg_json_destroy(out);
    qg_json_destroy(missing);
    qg_json_destroy(sets);

    run_filter("{\"key\":\"machineId\",\"value\":\"M9\"}", NULL, &out, &missing, &sets);
    expect_json(qg_json_get(out, "n"), "0");
    expect_json(qg_json_get(out, "failures"), "[]");
    cr_expect_null(qg_json_get(out, "last"));
    expect_json(missing, "{\"last\":\"none for M9\"}");
    qg_json_destroy(out);
    qg_json_destroy(missing);
    qg_json_destroy(sets);
}

Test(filter, malformed_specs_are_stage_errors)
{
    static const char *const specs[][2] = {
        {"{\"sets\":[{\"from\":\"alarms\"}],\"outputs\":{}}", "needs `name` and `from`"},
        {"{\"sets\":[],\"outputs\":{\"x\":{\"set\":\"nope\"}}}", "no set named nope"},
        {"{\"sets\":[],\"outputs\":{\"x\":{}}}", "needs one of set"},
        {"{\"sets\":[{\"name\":\"a\",\"from\":\"alarms\",\"sort\":[{\"field\":\"T\",\"order\":"
         "\"up\"}]}],\"outputs\":{}}",
         "order asc|desc"},
        {"{\"outputs\":{}}", "needs a `sets` list"},
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        qg_json_t *spec = json(specs[i][0]), *records = json(RECORDS), *doc = goal("t", "");
        qg_json_t *out, *missing, *sets;
        qg_filter_input_t in = {spec, doc, records, NULL};
        qg_error_t *err = qg_filter_run(&in, &out, &missing, &sets);
        cr_expect_eq(qg_error_class(err), QG_ERR_STAGE_ERROR, "%s", specs[i][0]);
        cr_expect_not_null(strstr(qg_error_message(err), specs[i][1]), "\"%s\" not in \"%s\"",
                           specs[i][1], qg_error_message(err));
        qg_error_destroy(err);
        qg_json_destroy(spec);
        qg_json_destroy(records);
        qg_json_destroy(doc);
    }
}
