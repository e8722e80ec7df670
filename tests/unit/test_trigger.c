/*
 * qg-trigger's pure parts: topic filters, the trigger file, event fields
 * (FA³ST's change event as FA³ST 1.3.0 publishes it), predicates, templates,
 * goals, the bounded key set and the spool.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "goal.h"
#include "trigger.h"

static trg_file_t *parse(const char *yaml, char *msg, size_t sz)
{
    qg_error_t *err = NULL;
    trg_file_t *f = trg_file_parse(yaml, strlen(yaml), "t.yaml", &err);
    snprintf(msg, sz, "%s", qg_error_message(err));
    qg_error_destroy(err);
    return f;
}

static const char *const base_yaml =
    "sources:\n"
    "  - {name: plant, type: mqtt, client_id: c1, subscribe: ['plant/#']}\n"
    "rules:\n"
    "  - name: order\n"
    "    when: {source: plant, topic: 'plant/+/orders', where: [{field: order.qty, gt: 0},"
    "           {field: order.kind, in: [new, rush]}]}\n"
    "    event_id: order.id\n"
    "    then:\n"
    "      goal: {type: goal3_predict_production_time, id: 'order-${order.id}',\n"
    "             pipeline: [swrlSelection, yamlBinding, simulation],\n"
    "             parameters: {productType: '${order.product}', quantity: '${order.qty}',\n"
    "                          line: '${$topic.1}', note: 'line ${$topic.1} qty ${order.qty}'}}\n";

Test(trigger, topic_filters)
{
    cr_assert(trg_topic_matches("a/b", "a/b"));
    cr_assert(!trg_topic_matches("a/b", "a/c"));
    cr_assert(!trg_topic_matches("a/b", "a/b/c"));
    cr_assert(trg_topic_matches("a/+/c", "a/x/c"));
    cr_assert(!trg_topic_matches("a/+/c", "a/x/y/c"));
    cr_assert(trg_topic_matches("a/#", "a/x/y/c"));
    cr_assert(trg_topic_matches("a/#", "a"));
    cr_assert(trg_topic_matches("#", "anything/at/all"));
    cr_assert(trg_topic_matches("+/+/orders/new", "plant/l1/orders/new"));
    cr_assert(!trg_topic_matches("+/+/orders/new", "plant/l1/orders/done"));
    cr_assert(trg_topic_matches(NULL, "x"));
}

Test(trigger, file_parses_and_refuses_with_the_place)
{
    char msg[512];
    trg_file_t *f = parse(base_yaml, msg, sizeof(msg));
    cr_assert_not_null(f, "%s", msg);
    cr_assert_eq(f->n_sources, 1);
    cr_assert_eq(f->sources[0].protocol, 5);
    cr_assert_eq(f->sources[0].qos, 1);
    cr_assert_eq(f->sources[0].clean_session, 0, "persistent session by default");
    cr_assert_eq(f->sources[0].port, 1883);
    cr_assert_eq(f->rules[0].then, TRG_THEN_GOAL);
    cr_assert_eq(f->rules[0].n_preds, 2);
    trg_file_destroy(f);

    struct {
        const char *yaml, *want;
    } bad[] = {
        {"sources: []\nrules: []\n", "sources"},
        {"sources:\n  - {name: p, type: mqtt, subscribe: [a]}\nrules: [{name: r, when: {}, then: "
         "{rerun: watched}}]\n",
         "client_id"},
        {"sources:\n  - {name: p, type: mqtt, client_id: c, password: x, subscribe: [a]}\n"
         "rules: [{name: r, when: {}, then: {rerun: watched}}]\n",
         "password_file"},
        {"sources:\n  - {name: p, type: amqp}\nrules: [{name: r, when: {}, then: {rerun: "
         "watched}}]\n",
         "type: mqtt or kafka"},
        {"sources:\n  - {name: p, type: kafka, topics: [t]}\nrules: [{name: r, when: {source: "
         "q}, then: {rerun: watched}}]\n",
         "no such source: q"},
        {"sources:\n  - {name: p, type: kafka, topics: [t]}\nrules: [{name: r, when: {where: "
         "[{field: a, like: 1}]}, then: {rerun: watched}}]\n",
         "unknown operator like"},
        {"sources:\n  - {name: p, type: kafka, topics: [t]}\nrules: [{name: r, when: {}, then: "
         "{goal: {type: t}}}]\n",
         "pipeline"},
        {"sources:\n  - {name: p, type: kafka, topics: [t]}\nrules: [{name: r, when: {}, then: "
         "{rerun: watched, unwatch: x}}]\n",
         "exactly one"},
        {"sources:\n  - {name: p, type: kafka, topics: [t]}\nrules: [{name: r, when: {}, then: "
         "{rerun: watched}, debounce: soon}]\n",
         "debounce"},
        {"sources:\n  - {name: p, type: mqtt, client_id: c, protocol: 4.5, subscribe: [a]}\n"
         "rules: [{name: r, when: {}, then: {rerun: watched}}]\n",
         "protocol"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = parse(bad[i].yaml, msg, sizeof(msg));
        cr_assert_null(f, "case %zu parsed", i);
        cr_assert(strstr(msg, bad[i].want), "case %zu: \"%s\" does not say %s", i, msg,
                  bad[i].want);
        cr_assert(strstr(msg, "t.yaml"), "case %zu: no file name in %s", i, msg);
    }
}

Test(trigger, the_shipped_trigger_file_loads_with_the_environment)
{
    qg_error_t *err = NULL;
    unsetenv("QG_MQTT_HOST");
    setenv("QG_MQTT_PORT", "11883", 1);
    trg_file_t *f = trg_file_load(QG_SOURCE_DIR "/config/triggers.yaml", &err);
    cr_assert_not_null(f, "%s", qg_error_message(err));
    cr_assert_eq(f->n_rules, 3);
    cr_assert_str_eq(f->sources[0].host, "127.0.0.1", "the default");
    cr_assert_eq(f->sources[0].port, 11883, "from QG_MQTT_PORT");
    trg_file_destroy(f);
    unsetenv("QG_MQTT_PORT");
    char msg[512];
    cr_assert_null(parse("sources:\n  - {name: p, type: mqtt, client_id: c, host: '${env:QG_NOPE}',"
                         " subscribe: [a]}\nrules: [{name: r, when: {}, then: {rerun: watched}}]\n",
                         msg, sizeof(msg)));
    cr_assert(strstr(msg, "not set: QG_NOPE"), "%s", msg);
}

static trg_event_t event(const char *topic, const char *payload)
{
    trg_event_t ev = {
        .source = "plant", .topic = topic, .payload = payload, .len = strlen(payload)};
    return ev;
}

Test(trigger, predicates_and_missing_fields)
{
    char msg[512], why[256];
    trg_file_t *f = parse(base_yaml, msg, sizeof(msg));
    cr_assert_not_null(f, "%s", msg);
    const trg_rule_t *r = &f->rules[0];
    struct {
        const char *payload;
        int want;
    } cases[] = {
        {"{\"order\": {\"qty\": 5, \"kind\": \"new\"}}", 1},
        {"{\"order\": {\"qty\": \"5\", \"kind\": \"rush\"}}", 1}, /* numeric text compares */
        {"{\"order\": {\"qty\": 0, \"kind\": \"new\"}}", 0},
        {"{\"order\": {\"qty\": 5, \"kind\": \"old\"}}", 0},
        {"{\"order\": {\"kind\": \"new\"}}", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        trg_event_t ev = event("plant/l1/orders", cases[i].payload);
        qg_json_t *fields = trg_event_fields(&ev, TRG_SHAPE_JSON, why, sizeof(why));
        cr_assert_not_null(fields, "case %zu: %s", i, why);
        why[0] = '\0';
        cr_assert_eq(trg_rule_matches(r, fields, why, sizeof(why)), cases[i].want, "case %zu", i);
        if (cases[i].want < 0)
            cr_assert(strstr(why, "order.qty is missing"), "%s", why);
        qg_json_destroy(fields);
    }
    trg_event_t ev = event("plant/l1/orders", "{not json");
    cr_assert_null(trg_event_fields(&ev, TRG_SHAPE_JSON, why, sizeof(why)));
    cr_assert(strstr(why, "not JSON"), "%s", why);
    ev = event("plant/l1/orders", "[1]");
    cr_assert_null(trg_event_fields(&ev, TRG_SHAPE_JSON, why, sizeof(why)));
    cr_assert(strstr(why, "not a JSON object"), "%s", why);
    trg_file_destroy(f);
}

Test(trigger, goal_from_an_event_keeps_types_and_validates)
{
    char msg[512], why[256] = "";
    trg_file_t *f = parse(base_yaml, msg, sizeof(msg));
    cr_assert_not_null(f, "%s", msg);
    trg_event_t ev = event("plant/l7/orders", "{\"order\": {\"id\": \"A9\", \"qty\": 12, \"kind\": "
                                              "\"new\", \"product\": \"P-2001\"}}");
    qg_json_t *fields = trg_event_fields(&ev, TRG_SHAPE_JSON, why, sizeof(why));
    qg_json_t *doc = trg_goal_build(&f->rules[0], fields, &ev, "A9", 1e12, why, sizeof(why));
    cr_assert_not_null(doc, "%s", why);
    qg_error_t *err = qg_goal_validate(doc, NULL);
    cr_assert_null(err, "%s", qg_error_message(err));
    cr_assert_str_eq(qg_goal_id(doc), "order-A9");
    cr_assert_str_eq(qg_goal_type(doc), "goal3_predict_production_time");
    cr_assert_str_eq(qg_goal_first_stage(doc), "swrlSelection");
    cr_assert_eq(qg_json_num(qg_json_get(qg_goal_param(doc, "quantity"), "value"), -1), 12);
    cr_assert_str_eq(qg_json_str(qg_json_get(qg_goal_param(doc, "productType"), "value")),
                     "P-2001");
    cr_assert_str_eq(qg_json_str(qg_json_get(qg_goal_param(doc, "line"), "value")), "l7");
    cr_assert_str_eq(qg_json_str(qg_json_get(qg_goal_param(doc, "note"), "value")),
                     "line l7 qty 12");
    cr_assert_str_eq(qg_json_str(qg_json_path(doc, "QueryGoal.metadata.trigger.eventId")), "A9");
    cr_assert_eq(qg_json_len(qg_json_path(doc, "QueryGoal.outputSpec")), 4);
    qg_json_destroy(doc);
    qg_json_destroy(fields);

    /* A template naming a missing field: no goal, and why. */
    ev = event("plant/l7/orders", "{\"order\": {\"id\": \"A9\", \"qty\": 12, \"kind\": \"new\"}}");
    fields = trg_event_fields(&ev, TRG_SHAPE_JSON, why, sizeof(why));
    cr_assert_null(trg_goal_build(&f->rules[0], fields, &ev, "A9", 1e12, why, sizeof(why)));
    cr_assert(strstr(why, "order.product is missing"), "%s", why);
    qg_json_destroy(fields);
    trg_file_destroy(f);
}

Test(trigger, faaast_value_change_event)
{
    char errstr[512], why[256];
    size_t len;
    char *text = qg_file_read(QG_SOURCE_DIR "/tests/data/trigger/faaast-value-change.json", 0, &len,
                              NULL, errstr, sizeof(errstr));
    cr_assert_not_null(text, "%s", errstr);
    trg_event_t ev = {
        .source = "aas", .topic = "events/ValueChangeEventMessage", .payload = text, .len = len};
    qg_json_t *f = trg_event_fields(&ev, TRG_SHAPE_FAAAST, why, sizeof(why));
    cr_assert_not_null(f, "%s", why);
    cr_assert_str_eq(qg_json_str(qg_json_get(f, "submodel")), "urn:factory:submodel:status:M3");
    cr_assert_str_eq(qg_json_str(qg_json_get(f, "machine")), "M3");
    cr_assert_str_eq(qg_json_str(qg_json_get(f, "idShort")), "status");
    cr_assert_str_eq(qg_json_str(qg_json_get(f, "path")), "status");
    cr_assert_str_eq(qg_json_str(qg_json_get(f, "oldValue")), "idle");
    cr_assert_str_eq(qg_json_str(qg_json_get(f, "newValue")), "down");
    char *change = trg_change_text(f);
    cr_assert_str_eq(change, "M3 status idle -> down");
    free(change);
    qg_json_destroy(f);
    ev.payload = "{\"order\": 1}";
    ev.len = strlen(ev.payload);
    cr_assert_null(trg_event_fields(&ev, TRG_SHAPE_FAAAST, why, sizeof(why)));
    cr_assert(strstr(why, "not a FA³ST event"), "%s", why);
    free(text);
}

Test(trigger, keyset_forgets_the_oldest_when_full)
{
    trg_keyset_t *ks = trg_keyset_new(3);
    char key[16];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        cr_assert_eq(trg_keyset_put(ks, key, i), 0);
    }
    cr_assert_eq(trg_keyset_count(ks), 3);
    cr_assert_lt(trg_keyset_get(ks, "k0"), 0);
    cr_assert_lt(trg_keyset_get(ks, "k1"), 0);
    cr_assert_eq(trg_keyset_get(ks, "k4"), 4);
    cr_assert_eq(trg_keyset_put(ks, "k2", 9), 0); /* refresh: no eviction */
    cr_assert_eq(trg_keyset_get(ks, "k2"), 9);
    cr_assert_eq(trg_keyset_get(ks, "k3"), 3);
    trg_keyset_destroy(ks);
}

typedef struct {
    int n;
    char topics[4][64];
    size_t lens[4];
} replayed_t;

static void on_replay(void *opaque, const char *topic, const void *payload, size_t len)
{
    replayed_t *r = opaque;
    (void)payload;
    if (r->n < 4) {
        snprintf(r->topics[r->n], sizeof(r->topics[0]), "%s", topic);
        r->lens[r->n] = len;
    }
    r->n++;
}

Test(trigger, spool_replays_complete_records_only)
{
    char dir[] = "/tmp/qg-spool-XXXXXX", errstr[256], path[128];
    cr_assert_not_null(mkdtemp(dir));
    trg_spool_t *sp = trg_spool_open(dir, "plant", errstr, sizeof(errstr));
    cr_assert_not_null(sp, "%s", errstr);
    cr_assert_eq(trg_spool_append(sp, "a/b", "{\"x\":1}", 7), 0);
    cr_assert_eq(trg_spool_append_done(sp, "order/A1"), 0);
    cr_assert_eq(trg_spool_append(sp, "a/c", "bin\n\0ary", 8), 0);
    trg_spool_close(sp);
    /* A crash in the middle of a record: the cut record is not replayed. */
    snprintf(path, sizeof(path), "%s/plant.spool", dir);
    FILE *fp = fopen(path, "a");
    fputs("QGS1 3 100\na/dxyz", fp);
    fclose(fp);
    sp = trg_spool_open(dir, "plant", errstr, sizeof(errstr));
    replayed_t r = {0};
    cr_assert_eq(trg_spool_replay(sp, on_replay, &r), 2);
    cr_assert_str_eq(r.topics[0], "a/b");
    cr_assert_eq(r.lens[1], 8);
    replayed_t d = {0};
    cr_assert_eq(trg_spool_done_keys(sp, on_replay, &d), 1);
    cr_assert_str_eq(d.topics[0], "order/A1");
    cr_assert_eq(trg_spool_clear(sp), 0);
    cr_assert_eq(trg_spool_bytes(sp), 0);
    r.n = 0;
    cr_assert_eq(trg_spool_replay(sp, on_replay, &r), 0);
    trg_spool_close(sp);
    unlink(path);
    rmdir(dir);
    cr_assert_null(trg_spool_open("", "plant", errstr, sizeof(errstr)), "empty dir: no spool");
}
