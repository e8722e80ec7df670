/*
 * filter.h - the declarative filter of the dataFiltering stage.
 *
 * A goal type's `filter:` (goal.types.file) makes named record sets from the
 * previous stage's records, in order, then the goal's outputs from them:
 *
 *   filter:
 *     sets:
 *       - name: failures
 *         from: alarms                  # a record set of aasQuery, or an earlier set
 *         where:                        # every predicate must hold
 *           - {field: Category, eq: cooling}
 *           - {field: MachineId, eq: "${param:machineId}"}  # skipped without machineId
 *           - {field: CoolantTemperature, gt: 35}           # eq ne gt ge lt le in contains exists
 *         timeWindow: {field: Time}     # inside the goal's `date` range, when it has one
 *         sort: [{field: Time, order: asc}]
 *         limit: 100
 *         select: {machine: MachineId, time: Time}         # output name: record field
 *         attach:                       # related records under a new member
 *           - {as: jobLog, from: jobs, match: {JobId: jobId}}       # their field: our field
 *           - {as: readings, from: coolant, around: {field: Time, of: time, minutes: 30}}
 *           - {as: job, from: jobs, match: {JobId: jobId}, first: true}  # one record or null
 *     outputs:
 *       failures: {set: failures}                     # the records
 *       failureCount: {count: failures}               # how many
 *       failuresByMachine: {groupCount: failures, by: machine}  # [{machine, count}]
 *       location: {first: lastEvent, missing: "no record for ${param:productId}"}
 *
 * Fields are member names or dotted paths. Comparisons are numeric when both
 * sides are numbers, else on the text (ISO times compare correctly as text).
 */
#ifndef QG_FILTER_H
#define QG_FILTER_H

#include "error.h"
#include "json.h"
#include "timerange.h"

typedef struct {
    const qg_json_t *spec;        /* the goal type's filter: {sets, outputs} */
    const qg_json_t *doc;         /* the goal (parameters for ${param:...}) */
    const qg_json_t *records;     /* {name: [records]} from the previous stage */
    const qg_time_range_t *range; /* the goal's time range, or NULL */
} qg_filter_input_t;

/**
 * Evaluate the filter. *outputs gets {name: value} for every output that has
 * a value; *missing (may be NULL) gets {name: message} for outputs declared
 * with `missing` whose set was empty. *sets gets {name: count} per set.
 * A malformed spec is a stage error naming the set or output.
 */
qg_error_t *qg_filter_run(const qg_filter_input_t *in, qg_json_t **outputs, qg_json_t **missing,
                          qg_json_t **sets);

#endif
