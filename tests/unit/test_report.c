/*
 * test_report.c - the HTML report: sections from the fixture goal, accepted plan
 * shapes, escaping, missing and malformed parts, limits.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

#define FIXTURE QG_SOURCE_DIR "/tests/data/report/goal3-enriched.json"

/* Occurrences of needle (a plain loop: repeated strstr is quadratic under ASan). */
static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = hay; *p; p++)
        n += *p == *needle && strncmp(p, needle, len) == 0;
    return n;
}

static qg_json_t *parse(const char *text)
{
    char e[256];
    qg_json_t *doc = qg_json_parse(text, strlen(text), e, sizeof(e));
    cr_assert_not_null(doc, "test JSON: %s", e);
    return doc;
}

static char *render(const qg_json_t *doc)
{
    char *html = NULL;
    size_t len = 0;
    qg_error_t *err = qg_report_render_string(doc, &html, &len);
    cr_assert_null(err, "render: %s", qg_error_message(err));
    cr_assert_not_null(html);
    cr_assert_eq(strlen(html), len);
    return html;
}

static char *render_text(const char *json)
{
    qg_json_t *doc = parse(json);
    char *html = render(doc);
    qg_json_destroy(doc);
    return html;
}

/* Nothing is fetched: no scripts, links, images or URLs except the SVG namespace. */
static void expect_self_contained(const char *html)
{
    cr_expect_null(strstr(html, "<script"), "page has a script");
    cr_expect_null(strstr(html, "<link"), "page links a resource");
    cr_expect_null(strstr(html, "<img"), "page has an image");
    cr_expect_null(strstr(html, "src=\""), "page loads a source");
    cr_expect_null(strstr(html, "href=\""), "page links somewhere");
    cr_expect_null(strstr(html, "url("), "CSS loads a URL");
    size_t urls = count(html, "http://") + count(html, "https://");
    cr_expect_eq(urls, count(html, "xmlns=\"http://www.w3.org/2000/svg\""),
                 "only SVG namespaces may look like URLs");
    cr_expect_not_null(strstr(html, "Content-Security-Policy"));
}

Test(report, fixture_has_every_section)
{
    char e[256];
    qg_json_t *doc = qg_json_parse_file(FIXTURE, e, sizeof(e));
    cr_assert_not_null(doc, "%s", e);
    size_t nops = qg_json_len(qg_json_path(doc, "QueryGoal.outputs.productionPlan.operations"));
    cr_assert_gt(nops, 50);
    char *html = render(doc);
    size_t bars = count(html, "class=\"op\"") + count(html, "class=\"op existing\"");
    cr_expect_eq(bars, nops, "one bar per operation: %zu bars for %zu ops", bars, nops);
    cr_expect_eq(count(html, "class=\"op existing\""), nops - 10, "existing work drawn apart");
    cr_expect_eq(count(html, "data-order=\"1\""), 10, "the order's lots are marked");
    cr_expect_eq(count(html, "class=\"lbl\""), 4 + 3, "4 machine rows and 3 stage rows");
    cr_expect_eq(count(html, "<tr><td>"), 2 + 4 + 3 + 3 + 4,
                 "params, bottlenecks, pct, stages, other outputs (mean, std, ...)");
    cr_expect_not_null(strstr(html, "<tr><td>orderCompletion</td><td>40800</td></tr>"));
    cr_expect_not_null(strstr(html, "11h 20m"), "estimated time in human units");
    cr_expect_not_null(strstr(html, "82.0%"));
    cr_expect_not_null(strstr(html, "NSGA2SimulatorModel"));
    cr_expect_not_null(strstr(html, "<td>quantity</td><td>50</td>"));
    cr_expect_not_null(strstr(html, "p90 12h 21m"));
    cr_expect_not_null(strstr(html, "passed</span>: plan verified: 105 operations"));
    cr_expect_not_null(strstr(html, "14 ms"));
    cr_expect_not_null(strstr(html, "estimated completion"));
    cr_expect_eq(count(html, "class=\"bn\""), 4);
    cr_expect_null(strstr(html, "not available"), "the fixture is complete");
    /* machine rows in natural order */
    const char *m1 = strstr(html, ">M1</text>"), *m4 = strstr(html, ">M4</text>");
    cr_expect(m1 && m4 && m1 < m4);
    expect_self_contained(html);
    free(html);

    FILE *f = tmpfile();
    cr_assert_null(qg_report_render(doc, f));
    cr_expect_gt(ftell(f), 10000);
    fclose(f);
    qg_json_destroy(doc);
}

Test(report, plan_shapes)
{
    const char *shapes[] = {
        /* array of operations */
        "{\"QueryGoal\":{\"outputs\":{\"productionPlan\":[{\"job\":\"J1\",\"operation\":\"O1\","
        "\"machine\":\"M1\",\"start\":0,\"end\":60},{\"job\":\"J1\",\"operation\":\"O2\","
        "\"machine\":\"M2\",\"start\":60,\"end\":90},{\"job\":\"J2\",\"operation\":\"O3\","
        "\"machine\":\"M1\",\"start\":60,\"end\":100}]}}}",
        /* machines as an object of lists, other field names, numbers as strings */
        "{\"QueryGoal\":{\"outputs\":{\"productionPlan\":{\"machines\":{\"M1\":[{\"jobId\":1,"
        "\"operationId\":\"O1\",\"startTime\":\"0\",\"endTime\":60},{\"jobId\":2,\"op\":\"O3\","
        "\"start_time\":60,\"end_time\":100}],\"M2\":{\"operations\":[{\"job_id\":1,"
        "\"start\":60,\"finish\":90}]}}}}}}",
        /* machines as an array of timelines */
        "{\"QueryGoal\":{\"outputs\":{\"productionPlan\":{\"machines\":[{\"machine\":\"M1\","
        "\"operations\":[{\"job\":\"J1\",\"start\":0,\"end\":60},{\"job\":\"J2\",\"start\":60,"
        "\"end\":100}]},{\"machineId\":\"M2\",\"operations\":[{\"job\":\"J1\",\"start\":60,"
        "\"end\":90}]}]}}}}",
        /* outputs only in results.simulation */
        "{\"QueryGoal\":{},\"results\":{\"simulation\":{\"productionPlan\":{\"operations\":["
        "{\"job\":\"J1\",\"machine\":\"M1\",\"start\":0,\"end\":60},{\"job\":\"J1\",\"machine\":"
        "\"M2\",\"start\":60,\"end\":90},{\"job\":\"J2\",\"machine\":\"M1\",\"start\":60,"
        "\"end\":100}]}}}}",
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char *html = render_text(shapes[i]);
        cr_expect_eq(count(html, "class=\"op\""), 3, "shape %zu: %zu bars", i,
                     count(html, "class=\"op\""));
        cr_expect_not_null(strstr(html, "3 operations on 2 machines"), "shape %zu", i);
        free(html);
    }
}

Test(report, plan_from_simulation_stage_result)
{
    char *html = render_text(
        "{\"QueryGoal\":{},\"executionLog\":{\"stages\":[{\"stage\":\"simulation\",\"status\":"
        "\"completed\",\"result\":{\"estimatedTime\":90,\"productionPlan\":[{\"job\":\"J1\","
        "\"machine\":\"M1\",\"start\":0,\"end\":60}]}}]}}");
    cr_expect_eq(count(html, "class=\"op\""), 1);
    cr_expect_not_null(strstr(html, "1m 30s"));
    free(html);
}

Test(report, bad_operations_are_left_out)
{
    char *html = render_text(
        "{\"QueryGoal\":{\"outputs\":{\"productionPlan\":[{\"job\":\"J1\",\"machine\":\"M1\","
        "\"start\":0,\"end\":60},{\"job\":\"J2\",\"machine\":\"M1\",\"start\":50,\"end\":10},"
        "{\"job\":\"J3\",\"start\":0,\"end\":5},{\"job\":\"J4\",\"machine\":\"M1\",\"start\":"
        "\"soon\",\"end\":5},{\"job\":\"J5\",\"machine\":\"M1\",\"start\":null,\"end\":5},"
        "7,\"x\",[],{\"machine\":{\"a\":1},\"start\":0,\"end\":1}]}}}");
    cr_expect_eq(count(html, "class=\"op\""), 1);
    cr_expect_not_null(strstr(html, "8 entries without machine, start and end were left out"), "%s",
                       strstr(html, "<section id=\"plan\">"));
    free(html);
}

Test(report, escapes_all_text)
{
    char *html = render_text(
        "{\"QueryGoal\":{\"goalId\":\"<script>alert(1)</script>\",\"goalType\":\"a&b\","
        "\"parameters\":[{\"key\":\"<k>\",\"value\":\"\\\"v'\\u0001\"}],"
        "\"metadata\":{\"request\":\"<img src=x onerror=alert(1)>\"},"
        "\"outputs\":{\"productionPlan\":[{\"job\":\"<b>J</b>\",\"operation\":\"o\\\"p\","
        "\"machine\":\"M<1>\",\"start\":0,\"end\":600}],\"bottlenecks\":[{\"machine\":"
        "\"</td>\",\"utilization\":0.5}]}},\"executionLog\":{\"status\":\"<i>\",\"stages\":[{"
        "\"stage\":\"<s>\",\"status\":\"failed\",\"gate\":{\"passed\":false,\"reason\":"
        "\"<r>\"},\"error\":{\"class\":\"<c>\",\"message\":\"</table>\"}}]}}");
    const char *raw[] = {"<script>", "<img", "<b>J",    "<k>", "M<1>", "<s>", "<r>",
                         "<c>",      "<i>",  "</td>\"", "a&b", "o\"p", "v'"};
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
        cr_expect_null(strstr(html, raw[i]), "unescaped %s", raw[i]);
    cr_expect_not_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    cr_expect_not_null(strstr(html, "a&amp;b"));
    cr_expect_not_null(strstr(html, "&quot;v&#39; "), "control character replaced");
    cr_expect_not_null(strstr(html, "&lt;c&gt;: &lt;/table&gt;"));
    cr_expect_eq(count(html, "<table"), count(html, "</table>"));
    expect_self_contained(html);
    free(html);
}

Test(report, missing_parts_say_not_available)
{
    char *html = render_text("{\"QueryGoal\":{\"goalId\":\"g\"}}");
    cr_expect_eq(count(html, "class=\"op\""), 0);
    cr_expect_not_null(strstr(html, "Production plan: not available"));
    cr_expect_not_null(strstr(html, "Bottlenecks: not available"));
    cr_expect_not_null(strstr(html, "Percentiles and histogram: not available"));
    cr_expect_not_null(strstr(html, "Stage timings: not available"));
    cr_expect_not_null(strstr(html, "Parameters: not available"));
    cr_expect_geq(count(html, ">not available<"), 4, "summary cards");
    expect_self_contained(html);
    free(html);
}

Test(report, wrong_types_everywhere_do_not_crash)
{
    const char *docs[] = {
        "{\"QueryGoal\":{\"goalId\":5,\"goalType\":[],\"parameters\":\"x\",\"metadata\":7,"
        "\"outputs\":[]},\"executionLog\":\"x\"}",
        "{\"QueryGoal\":{\"outputs\":{\"productionPlan\":\"x\",\"bottlenecks\":{},\"percentiles\":"
        "[1,2],\"histogram\":\"h\",\"estimatedTime\":\"soon\",\"confidence\":{}}},"
        "\"executionLog\":{\"stages\":{}}}",
        "{\"QueryGoal\":{\"outputs\":{\"productionPlan\":{\"operations\":\"x\",\"machines\":5},"
        "\"bottlenecks\":[1,\"a\",null,{\"utilization\":\"lots\"}],\"percentiles\":{\"p10\":"
        "\"a\",\"pX\":1,\"p\":2,\"p200\":3,\"p50\":-1},\"distribution\":{\"edges\":[1],"
        "\"counts\":[1,2]}}},\"executionLog\":{\"stages\":[1,null,{\"stage\":5,\"gate\":true,"
        "\"durationMs\":\"x\",\"startedAt\":\"yesterday\"}]}}",
        "{\"QueryGoal\":{\"parameters\":[null,1,{\"key\":{},\"value\":{\"a\":[1,2]}}],"
        "\"outputs\":{\"productionPlan\":{\"machines\":{\"M1\":5,\"M2\":{\"operations\":7}}},"
        "\"histogram\":[{\"from\":5,\"to\":1,\"count\":3},{\"from\":0,\"to\":1,\"count\":-3}]}}}",
        "{\"QueryGoal\":{\"outputs\":{\"productionPlan\":[{\"machine\":\"M1\",\"start\":1e308,"
        "\"end\":1.5e308},{\"machine\":\"M1\",\"start\":-1e308,\"end\":0}],\"percentiles\":"
        "{\"p50\":1e308},\"estimatedTime\":-5}}}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char *html = render_text(docs[i]);
        cr_expect_not_null(strstr(html, "</html>"), "doc %zu", i);
        cr_expect_null(strstr(html, "nan"), "doc %zu has NaN in it", i);
        cr_expect_null(strstr(html, "inf\""), "doc %zu has inf in it", i);
        free(html);
    }
}

Test(report, histogram_forms)
{
    char *html = render_text(
        "{\"QueryGoal\":{\"outputs\":{\"histogram\":[{\"from\":100,\"to\":110,\"count\":3},"
        "{\"from\":110,\"to\":120,\"count\":9},{\"from\":120,\"to\":130,\"count\":4}]}}}");
    cr_expect_eq(count(html, "class=\"bin\""), 3);
    cr_expect_not_null(strstr(html, "over 3 bins"));
    free(html);
    html = render_text("{\"QueryGoal\":{\"outputs\":{\"distribution\":{\"edges\":[0,60,120,180,"
                       "240],\"counts\":[1,5,2,1]},\"percentiles\":{\"p50\":100}}}}");
    cr_expect_eq(count(html, "class=\"bin\""), 4);
    cr_expect_eq(count(html, "class=\"pline\""), 1);
    free(html);
}

Test(report, percentiles_sorted_and_confidence)
{
    char *html = render_text("{\"QueryGoal\":{\"outputs\":{\"percentiles\":{\"p90\":5400,"
                             "\"p10\":3000,\"p50\":3600,\"p25\":3300,\"mean\":3700},"
                             "\"estimatedTime\":3600,\"confidence\":0.9,\"promiseTime\":3960,"
                             "\"promiseAt\":\"2026-12-01T07:06:00Z\"}}}");
    cr_expect_eq(count(html, "class=\"pline\""), 4);
    const char *a = strstr(html, "<td>p10</td>"), *b = strstr(html, "<td>p25</td>"),
               *c = strstr(html, "<td>p50</td>"), *d = strstr(html, "<td>p90</td>");
    cr_expect(a && b && c && d && a < b && b < c && c < d, "percentiles in order");
    /* the probability is of finishing by the promise time, and says so */
    cr_expect_not_null(strstr(html, "90.0 % chance to finish by 1h 06m from the start of the plan "
                                    "(2026-12-01T07:06:00Z)"),
                       "%s", strstr(html, "chance") ? strstr(html, "chance") : html);
    cr_expect_not_null(strstr(html, "class=\"est\""));
    free(html);
}

Test(report, bottleneck_percent_and_rank)
{
    char *html = render_text("{\"QueryGoal\":{\"outputs\":{\"bottlenecks\":[{\"machine\":\"M3\","
                             "\"utilization\":87,\"rank\":2,\"waitingCaused\":4000},"
                             "{\"machineId\":\"M1\",\"utilization\":0.95,\"rank\":1}]}}}");
    cr_expect_not_null(strstr(html, ">87%<"));
    cr_expect_not_null(strstr(html, ">95%<"));
    cr_expect_not_null(strstr(html, "waitingCaused: 1h 06m"));
    cr_expect_not_null(strstr(html, "<tr><td>2</td><td>M3</td>"));
    free(html);
}

Test(report, failed_goal)
{
    char *html = render_text(
        "{\"QueryGoal\":{\"goalId\":\"g1\"},\"executionLog\":{\"status\":\"failed\","
        "\"failedStage\":\"yamlBinding\",\"stages\":[{\"stage\":\"swrlSelection\",\"status\":"
        "\"completed\",\"durationMs\":10,\"gate\":{\"passed\":true}},{\"stage\":"
        "\"yamlBinding\",\"status\":\"failed\",\"durationMs\":1500,\"gate\":{\"passed\":false,"
        "\"reason\":\"source Machines missing\"},\"error\":\"AAS server returned 404\"}]}}");
    cr_expect_not_null(strstr(html, "class=\"stage failed\""));
    cr_expect_not_null(strstr(html, "class=\"stage ok\""));
    cr_expect_not_null(strstr(html, "failed</span>: source Machines missing"));
    cr_expect_not_null(strstr(html, "AAS server returned 404"));
    cr_expect_not_null(strstr(html, ">yamlBinding</div>"), "failed stage in the status card");
    free(html);
}

Test(report, many_operations_are_capped)
{
    size_t n = QG_REPORT_MAX_OPS + 25;
    qg_json_t *doc = parse("{\"QueryGoal\":{\"outputs\":{\"productionPlan\":[]}}}");
    qg_json_t *plan = qg_json_path(doc, "QueryGoal.outputs.productionPlan");
    for (size_t i = 0; i < n; i++) {
        qg_json_t *op = qg_json_object();
        char m[16];
        snprintf(m, sizeof(m), "M%zu", i % 7);
        qg_json_set_str(op, "machine", m);
        qg_json_set_num(op, "start", (double)i);
        qg_json_set_num(op, "end", (double)i + 0.5);
        qg_json_set_num(op, "job", (double)(i % 40));
        cr_assert_eq(qg_json_append(plan, op), 0);
    }
    char *html = render(doc);
    cr_expect_eq(count(html, "class=\"op\""), QG_REPORT_MAX_OPS);
    cr_expect_not_null(strstr(html, "(25 more)"));
    free(html);
    qg_json_destroy(doc);
}

Test(report, bad_input)
{
    char *html = (char *)1;
    qg_error_t *err = qg_report_render_string(NULL, &html, NULL);
    cr_expect_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_expect_null(html);
    qg_error_destroy(err);
    qg_json_t *doc = parse("{\"QueryGoal\":[]}");
    err = qg_report_render(doc, stdout);
    cr_expect_eq(qg_error_class(err), QG_ERR_BAD_INPUT);
    cr_expect_not_null(strstr(qg_error_message(err), "QueryGoal"));
    qg_error_destroy(err);
    err = qg_report_render(doc, NULL);
    cr_expect_not_null(err);
    qg_error_destroy(err);
    qg_json_destroy(doc);
}

Test(report, write_failure_is_an_error)
{
    FILE *f = fopen("/dev/full", "w");
    cr_assert_not_null(f);
    qg_json_t *doc = parse("{\"QueryGoal\":{\"goalId\":\"g\"}}");
    qg_error_t *err = qg_report_render(doc, f);
    cr_expect_eq(qg_error_class(err), QG_ERR_STAGE_ERROR);
    qg_error_destroy(err);
    fclose(f);
    qg_json_destroy(doc);
}

Test(report, durations)
{
    char b[32];
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), 0), "0 s");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), 0.25), "250 ms");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), 45), "45.0 s");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), 750), "12m 30s");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), 40800), "11h 20m");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), 3 * 86400 + 4 * 3600 + 5), "3d 4h");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), -1), "n/a");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), NAN), "n/a");
    cr_expect_str_eq(qg_report_duration(b, sizeof(b), INFINITY), "n/a");
}

Test(report, other_outputs_of_query_goals)
{
    char *html = render_text("{\"QueryGoal\":{\"goalType\":\"goal1_query_cooling_failure\","
                             "\"outputs\":{\"failureCount\":2,\"failures\":[{\"job\":"
                             "\"<J-1002>\",\"machine\":\"M2\"}],\"location\":null}}}");
    cr_expect_not_null(strstr(html, "Other outputs"));
    cr_expect_not_null(strstr(html, "<tr><td>failureCount</td><td>2</td></tr>"));
    cr_expect_not_null(strstr(html, "&lt;J-1002&gt;"));
    cr_expect_null(strstr(html, "<J-1002>"));
    cr_expect_not_null(strstr(html, "<pre>"));
    free(html);
    html = render_text("{\"QueryGoal\":{\"outputs\":{\"estimatedTime\":5}}}");
    cr_expect_null(strstr(html, "Other outputs"), "nothing else to show");
    free(html);
}

Test(report, parts_the_goal_does_not_ask_for_are_left_out)
{
    char *html =
        render_text("{\"QueryGoal\":{\"goalType\":\"goal4_track_product_location\",\"outputSpec\":["
                    "{\"name\":\"location\",\"datatype\":\"object\"}],\"outputs\":{\"location\":"
                    "{\"machine\":\"M3\",\"since\":\"2026-11-24T03:00:00Z\"}}}}");
    cr_expect_null(strstr(html, "Production plan"));
    cr_expect_null(strstr(html, "Bottlenecks"));
    cr_expect_null(strstr(html, "Distribution of the completion time"));
    cr_expect_null(strstr(html, "estimated time"));
    cr_expect_not_null(strstr(html, "<tr><td>location</td>"));
    cr_expect_not_null(strstr(html, "&quot;machine&quot;: &quot;M3&quot;"));
    cr_expect_not_null(strstr(html, ",\n"), "pretty JSON keeps its line breaks");
    free(html);
    /* a goal3 that failed before simulation still shows where its answer is missing */
    html = render_text("{\"QueryGoal\":{\"outputSpec\":[\"estimatedTime\",\"productionPlan\","
                       "\"bottlenecks\"]}}");
    cr_expect_not_null(strstr(html, "Production plan: not available"));
    cr_expect_not_null(strstr(html, "Bottlenecks: not available"));
    cr_expect_not_null(strstr(html, "Percentiles and histogram: not available"));
    free(html);
}

Test(report, the_answer_in_words_and_the_order_apart)
{
    char *html = render_text(
        "{\"QueryGoal\":{\"outputs\":{\"estimatedTime\":3600,\"confidence\":null,"
        "\"confidenceBasis\":\"deterministic\",\"policy\":\"reoptimize\","
        "\"promiseStatement\":\"the order finishes at 2026-12-01T07:00:00Z\","
        "\"warnings\":[\"no duration law for welding on M2 <b>\"],"
        "\"impact\":{\"jobsMoved\":1,\"totalDelay\":600,\"maxDelay\":600,\"jobs\":["
        "{\"job\":\"J7\",\"baselineCompletion\":1200,\"newCompletion\":1800,\"delay\":600}]},"
        "\"productionPlan\":{\"operations\":["
        "{\"job\":\"J7\",\"operation\":\"O1\",\"machine\":\"M1\",\"start\":0,\"end\":1800,"
        "\"order\":false},"
        "{\"job\":\"P#1\",\"operation\":\"P#1/1:x\",\"machine\":\"M1\",\"start\":1800,"
        "\"end\":3600,\"order\":true}],"
        "\"machines\":[{\"machine\":\"M1\",\"offShift\":[[2000,2400]],\"mtbfMin\":480,"
        "\"mttrMeanMin\":20}]}}}}");
    cr_expect_not_null(strstr(html, "the order finishes at 2026-12-01T07:00:00Z."));
    cr_expect_not_null(strstr(html, "the data carry no uncertainty"));
    cr_expect_not_null(
        strstr(html, "reoptimize: the order and existing jobs are planned together"));
    cr_expect_not_null(strstr(html, "<td>J7</td><td>20m 00s</td><td>30m 00s</td><td>10m 00s</td>"),
                       "delayed job row");
    cr_expect_not_null(strstr(html, "welding on M2 &lt;b&gt;"), "warning listed and escaped");
    cr_expect_eq(count(html, "class=\"op existing\""), 1);
    cr_expect_eq(count(html, "fill=\"#e8710a\""), 1, "the order's lot in the order colour");
    cr_expect_eq(count(html, "class=\"off\""), 1, "one calendar gap");
    cr_expect_not_null(strstr(html, "breakdowns: one every 480 min"));
    cr_expect_not_null(strstr(html, "confidence</div><div class=\"cv\">none"));
    free(html);
}
