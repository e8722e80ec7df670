#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kafka.h"

static const qg_option_t stage_opts[] = {
    QG_OPT_STR("registry.dir", "config", "registry"),
    {.name = "aas.token", .default_val = NULL, .description = "token", .is_secret = 1},
    QG_OPT_END,
};

static qg_config_t *new_cfg(void)
{
    qg_config_t *cfg = qg_config_new();
    qg_config_add_options(cfg, qg_kafka_options);
    qg_config_add_options(cfg, stage_opts);
    return cfg;
}

Test(config, defaults_flags_and_kafka_properties)
{
    qg_config_t *cfg = new_cfg();
    char *argv[] = {"prog",   "-b", "h:9092",      "--topic-prefix",
                    "plant1", "-X", "linger.ms=5", "--registry-dir=/etc/r",
                    "pos",    NULL};
    char **rest, err[256];
    int nrest;
    cr_assert_eq(qg_config_parse_args(cfg, 9, argv, &rest, &nrest, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(qg_config_get(cfg, "topic.prefix"), "plant1");
    cr_assert_str_eq(qg_config_get(cfg, "registry.dir"), "/etc/r");
    cr_assert_str_eq(qg_config_get(cfg, "processing.guarantee"), "at_least_once");
    cr_assert_eq(qg_config_kafka_count(cfg), 2, "bootstrap.servers and linger.ms");
    cr_assert_eq(nrest, 1);
    cr_assert_str_eq(rest[0], "pos");
    qg_config_destroy(cfg);
}

Test(config, unknown_flag_is_an_error)
{
    qg_config_t *cfg = new_cfg();
    char *argv[] = {"prog", "--no-such-thing", "1", NULL};
    char **rest, err[256];
    int nrest;
    cr_assert_eq(qg_config_parse_args(cfg, 3, argv, &rest, &nrest, err, sizeof(err)), -1);
    cr_assert(strstr(err, "--no-such-thing") != NULL);
    qg_config_destroy(cfg);
}

Test(config, file_errors_name_path_and_line)
{
    char path[] = "/tmp/qgcfgXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\ntopic.prefix = x\n\nthis line is wrong\n");
    fclose(f);
    qg_config_t *cfg = new_cfg();
    char err[256];
    cr_assert_eq(qg_config_load_file(cfg, path, err, sizeof(err)), -1);
    cr_assert(strstr(err, ":4: expected key=value") != NULL, "%s", err);
    unlink(path);
    qg_config_destroy(cfg);
}

Test(config, environment_overrides)
{
    setenv("QG_TOPIC_PREFIX", "envprefix", 1);
    setenv("QG_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", 1);
    setenv("QG_UNRELATED_THING", "x", 1);
    setenv("QG_KAFKA_PORT", "19092", 1); /* the test broker's port, not a librdkafka property */
    qg_config_t *cfg = new_cfg();
    char err[256];
    cr_assert_eq(qg_config_load_env(cfg, err, sizeof(err)), 0);
    cr_assert_str_eq(qg_config_get(cfg, "topic.prefix"), "envprefix");
    cr_assert_str_eq(qg_config_get(cfg, "security.protocol"), "SASL_SSL");
    cr_assert_null(qg_config_get(cfg, "unrelated.thing"));
    cr_assert_null(qg_config_get(cfg, "port"));
    cr_assert_eq(qg_config_kafka_count(cfg), 1, "only security.protocol");
    qg_config_destroy(cfg);
    unsetenv("QG_TOPIC_PREFIX");
    unsetenv("QG_KAFKA_SECURITY_PROTOCOL");
    unsetenv("QG_UNRELATED_THING");
    unsetenv("QG_KAFKA_PORT");
}

/* retry.backoff.ms is ours (transient retries) and librdkafka's: kafka.<name> and
 * QG_KAFKA_<NAME> reach librdkafka's without touching ours. */
Test(config, kafka_prefix_names_a_librdkafka_property_that_is_also_ours)
{
    setenv("QG_KAFKA_MESSAGE_TIMEOUT_MS", "9000", 1);
    qg_config_t *cfg = new_cfg();
    char *argv[] = {"prog", "-X", "kafka.retry.backoff.ms=20", "-X", "retry.backoff.ms=5,10", NULL};
    char **rest, err[256];
    int nrest;
    cr_assert_eq(qg_config_load_env(cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(qg_config_parse_args(cfg, 5, argv, &rest, &nrest, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(qg_config_get(cfg, "retry.backoff.ms"), "5,10", "ours");
    cr_assert_str_eq(qg_config_kafka_get(cfg, "retry.backoff.ms"), "20", "librdkafka's");
    cr_assert_str_eq(qg_config_kafka_get(cfg, "message.timeout.ms"), "9000");
    cr_assert_null(qg_config_kafka_get(cfg, "topic.prefix"), "ours only");
    cr_assert_eq(qg_config_kafka_count(cfg), 2);
    qg_config_destroy(cfg);
    unsetenv("QG_KAFKA_MESSAGE_TIMEOUT_MS");
}

Test(config, bootstrap_servers_from_the_environment)
{
    setenv("QG_BOOTSTRAP_SERVERS", "kafka:9092", 1);
    qg_config_t *cfg = new_cfg();
    char err[256];
    cr_assert_eq(qg_config_load_env(cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(qg_config_get(cfg, "bootstrap.servers"), "kafka:9092");
    qg_config_destroy(cfg);
    unsetenv("QG_BOOTSTRAP_SERVERS");
}

Test(config, dump_masks_secrets)
{
    qg_config_t *cfg = new_cfg();
    char err[256];
    qg_config_set(cfg, "aas.token", "s3cr3t", err, sizeof(err));
    qg_config_set(cfg, "sasl.password", "pw", err, sizeof(err));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    qg_config_dump(cfg, f);
    fclose(f);
    cr_assert(strstr(buf, "s3cr3t") == NULL && strstr(buf, "=pw") == NULL, "%s", buf);
    cr_assert(strstr(buf, "aas.token=***") != NULL);
    free(buf);
    qg_config_destroy(cfg);
}

Test(config, typed_getters)
{
    qg_config_t *cfg = new_cfg();
    char err[256];
    cr_assert_eq(qg_config_set(cfg, "commit.interval.ms", "2s", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(qg_config_ms(cfg, "commit.interval.ms"), 2000);
    /* A bad value is refused where it is set, naming key, value and reason. */
    cr_assert_eq(qg_config_set(cfg, "goal.max.bytes", "abc", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "goal.max.bytes: abc: not an integer");
    cr_assert_eq(qg_config_set(cfg, "goal.max.bytes", "10", err, sizeof(err)), -1);
    cr_assert(strstr(err, "out of range") != NULL, "%s", err);
    cr_assert_eq(qg_config_set(cfg, "processing.guarantee", "maybe", err, sizeof(err)), -1);
    cr_assert(strstr(err, "not one of") != NULL, "%s", err);
    cr_assert_eq(qg_config_int(cfg, "goal.max.bytes"), 1048576, "the default stays");
    cr_assert_eq(qg_config_bool(cfg, "topics.create"), 1);
    qg_config_destroy(cfg);
}

Test(config, integer_lists_are_checked_element_by_element)
{
    qg_config_t *cfg = new_cfg();
    char err[256];
    cr_assert_eq(qg_config_set(cfg, "retry.backoff.ms", "10,20", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(qg_config_set(cfg, "retry.backoff.ms", "", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(qg_config_set(cfg, "retry.backoff.ms", "10,5s", err, sizeof(err)), -1);
    cr_assert(strstr(err, "retry.backoff.ms: 10,5s: ") == err, "%s", err);
    cr_assert_eq(qg_config_set(cfg, "retry.backoff.ms", "-1", err, sizeof(err)), -1);
    qg_config_destroy(cfg);
}

static const qg_option_t cli_opts[] = {
    QG_OPT_BOOL("wait", "false", "follow"),
    QG_OPT_STR("o", "", "output file"),
    QG_OPT_INT("count", "3", 1, 9, "how many | at most"),
    QG_OPT_TABLE_END("cli-test"),
};

Test(config, boolean_flags_alone_and_letter_flags)
{
    qg_config_t *cfg = qg_config_new();
    qg_config_add_options(cfg, cli_opts);
    char *argv[] = {"prog", "--wait", "file.json", "-o", "out.html", NULL};
    char **rest, err[256];
    int nrest;
    cr_assert_eq(qg_config_parse_args(cfg, 5, argv, &rest, &nrest, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(qg_config_bool(cfg, "wait"), 1);
    cr_assert_str_eq(qg_config_get(cfg, "o"), "out.html");
    cr_assert_eq(nrest, 1);
    cr_assert_str_eq(rest[0], "file.json");
    char *argv2[] = {"prog", "--wait", "false", NULL};
    cr_assert_eq(qg_config_parse_args(cfg, 3, argv2, &rest, &nrest, err, sizeof(err)), 0);
    cr_assert_eq(qg_config_bool(cfg, "wait"), 0, "a boolean literal after the flag is its value");
    cr_assert_eq(nrest, 0);
    qg_config_destroy(cfg);
}

Test(config, markdown_table_from_the_options)
{
    qg_config_t *cfg = qg_config_new();
    qg_config_add_options(cfg, qg_kafka_options);
    qg_config_add_options(cfg, cli_opts);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(qg_config_print_markdown(cfg, "cli-test", f), 0);
    cr_assert_eq(qg_config_print_markdown(cfg, "no-such-table", f), -1);
    fclose(f);
    const char *expected = "<!-- config:cli-test -->\n"
                           "| key | default | allowed | meaning |\n"
                           "|---|---|---|---|\n"
                           "| `wait` | false | true/false | follow |\n"
                           "| `o` |  |  | output file |\n"
                           "| `count` | 3 | 1..9 | how many \\| at most |\n"
                           "<!-- /config -->\n";
    cr_assert_str_eq(buf, expected);
    free(buf);
    qg_config_destroy(cfg);
}
