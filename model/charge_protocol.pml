/*
 * The charge protocol of chargeq (docs/protocol.md): per SQS record
 *     parse -> claim -> (look up) -> charge -> record
 * for one request_id, against the SQS queue, the Powertools idempotency record and Stripe
 * of services.pml, with workers killed at every step.
 *
 * Properties:
 *   - at most one PaymentIntent of the request takes money (succeeded, or processing,
 *     which can still succeed): assert in services.pml new_pi and in charge_intent below;
 *   - a stored or returned outcome describes a PaymentIntent made with the payload of the
 *     message it answers (customer, amount, currency): assert at record and report;
 *   - every message copy ends deleted with a final outcome or in the DLQ with a reason,
 *     and a stored decline is never beside a succeeded PaymentIntent: the monitor below,
 *     and the LTL formula `settles` checked under weak fairness.
 *
 * Mutations (-D...), each switching one rule of the protocol off; tests/model expect SPIN
 * to find a counterexample for each:
 *   LOOKUP_OFF          no look-up, even after a takeover
 *   TODAY_LOOKUP        the look-up decision before issue 12: receive count > 1, a chargeq
 *                       dead-letter attribute, or a message older than 23 hours
 *   NO_PAYLOAD_COMPARE  the look-up keeps PaymentIntents of another payload
 *   KEY_PER_DELIVERY    the Stripe key numbered by delivery, not by soft declines found
 *   RELEASE_DELETES     a failing attempt deletes the record (Powertools' default) instead
 *                       of expiring its in-progress claim
 * REDRIVE_CHAIN relaxes an assumption of the settings instead (see services.pml).
 */

#include "services.pml"

#define SETTLED (!LIVE_ANY && NOBODY_BUSY)

/* A delivery is over: its locals go, so idle workers in equal worlds are equal states. */
inline forget() {
  s = 0; v = 0; holds = 0; evidence = 0; mismatch = 0; n = 0; k = 0; p = 0; outcome = 0;
  reason = 0; i = 0
}

/* A worker (a Lambda invocation's record) is killed: out of time, out of memory, host
   lost. Its message comes back after the visibility timeout; its claim stays INPROGRESS
   until the invocation's deadline; a Stripe request it sent may still execute. */
inline kill() {
  printf("STORY %d killed\n", w);
  if
  :: holds -> rec_active = 0; holds = 0
  :: else -> skip
  fi;
  if
  :: req_st[w] == Q_SENT || req_st[w] == Q_RUNNING -> req_orphan[w] = 1
  :: req_st[w] == Q_ANSWERED -> req_st[w] = Q_NONE
  :: else -> skip
  fi;
  msg_st[s] = M_QUEUED; busy[w] = 0;
  forget()
}

#define KILL :: faults < MAX_FAULTS -> atomic { faults++; kill() }; goto end_idle
#define FAULT faults < MAX_FAULTS -> faults++

#define QUEUED_SLOT(i) (NSLOT > i && msg_st[i] == M_QUEUED && msg_rc[i] < MAX_RECEIVE)

proctype worker(byte w) {
  byte s;        /* the message being handled */
  bit  v;        /* its payload */
  bit  holds;    /* this delivery holds the record's current claim */
  bit  evidence; /* the claim replaced an existing record (takeover) */
  bit  mismatch;
  byte n;        /* soft-declined attempts found: the attempt number */
  byte k;        /* Stripe idempotency key index */
  byte p;        /* the PaymentIntent the outcome describes */
  byte outcome;  /* O_* */
  byte reason;   /* R_* for a dead letter */
  byte i;

end_idle:
  atomic {
    if
    :: QUEUED_SLOT(0) -> s = 0
    :: QUEUED_SLOT(1) -> s = 1
#if NSLOT > 2
    :: QUEUED_SLOT(2) -> s = 2
#endif
#if NSLOT > 3
    :: QUEUED_SLOT(3) -> s = 3
#endif
    fi;
    msg_rc[s]++; msg_st[s] = M_INFLIGHT; v = msg_v[s]; busy[w] = 1;
    printf("STORY %d deliver %d v %d rc %d\n", w, s, v, msg_rc[s])
  };
  /* Parse: both payloads keep the contract; a poison body never reaches the claim. */

  /* ---- Claim (Powertools save_inprogress: one conditional PutItem, ALL_OLD hook) ---- */
  if
  KILL
  :: atomic { FAULT -> printf("STORY %d claim_failed\n", w) }; goto transient
  :: atomic {
       if
       /* The put succeeds: no record, or a claim whose in_progress_expiration passed
          (released, or its invocation is over: register_lambda_context made the
          invocation's deadline the expiry; only a claim reads it, so it passes here). */
       :: rec_st == REC_NONE || (rec_st == REC_INPROGRESS && (rec_ipx || !rec_active)) ->
            if
            :: rec_st == REC_INPROGRESS && !rec_ipx -> printf("STORY %d ipx_passed\n", w)
            :: else -> skip
            fi;
            evidence = (rec_st != REC_NONE);
            rec_st = REC_INPROGRESS; rec_v = v; rec_ipx = 0; rec_active = 1; holds = 1;
            i = 0;
            do
            :: i < NSLOT -> SET_UNCLAIMED(i, 0); i++
            :: else -> break
            od;
            i = 0; rec_outcome = 0; rec_pi = 0;
            printf("STORY %d claim %d\n", w, evidence);
#if defined(LOOKUP_OFF)
            evidence = 0;
#elif defined(TODAY_LOOKUP)
            evidence = (msg_rc[s] > 1 || ATTRS(s) || OLD(s));
#endif
            if
            :: evidence -> evidence = 0; goto lookup
            :: else -> goto charge
            fi
       :: rec_st == REC_COMPLETED || (rec_st == REC_INPROGRESS && !rec_ipx) ->
            /* the conditional put failed: Powertools validates the payload first */
            if
            :: rec_v != v ->
                 printf("STORY %d validation_error\n", w);
                 reason = R_PAYLOAD_CONFLICT; goto poison
            :: rec_v == v && rec_st == REC_COMPLETED ->
                 outcome = rec_outcome; p = rec_pi;
                 printf("STORY %d replay %d pi %d\n", w, outcome, p);
                 goto report
            :: rec_v == v && rec_st == REC_INPROGRESS ->
                 printf("STORY %d in_progress\n", w); goto transient
            fi
       fi
     }
  fi;

  /* ---- Look up: the customer's PaymentIntents with metadata.request_id (consistent) ---- */
lookup:
  if
  KILL
  :: atomic { FAULT -> printf("STORY %d lookup_failed\n", w) }; goto transient
  :: atomic {
       i = 0; n = 0; outcome = 0; mismatch = 0;
       do
       :: i < pi_n ->
#ifndef NO_PAYLOAD_COMPARE
            if
            :: pi_v[i] != v -> mismatch = 1
            :: else -> skip
            fi;
#endif
            if
            :: pi_st[i] == PI_SUCCEEDED -> outcome = O_CHARGED; p = i
            :: pi_st[i] == PI_PROCESSING && outcome != O_CHARGED -> outcome = O_PENDING; p = i
            :: pi_st[i] == PI_SOFT -> n++; if :: outcome == 0 -> p = i :: else -> skip fi
            :: else -> skip
            fi;
            i++
       :: else -> break
       od;
       i = 0;
       if
       :: mismatch ->
            printf("STORY %d lookup_conflict\n", w); reason = R_PAYLOAD_CONFLICT; goto poison
       :: !mismatch && outcome != 0 ->
            printf("STORY %d lookup_found %d pi %d\n", w, outcome, p); goto record
       :: !mismatch && outcome == 0 && n >= SOFT_ATTEMPTS ->
            /* every attempt was soft-declined, the last one's decline never recorded */
            outcome = O_DECLINED; printf("STORY %d lookup_found %d pi %d\n", w, outcome, p);
            goto record
       :: !mismatch && outcome == 0 && n < SOFT_ATTEMPTS ->
            printf("STORY %d lookup_none %d\n", w, n); goto charge
       fi
     }
  fi;

  /* ---- Charge: POST /v1/payment_intents under the attempt's idempotency key ---- */
charge:
#ifdef KEY_PER_DELIVERY
  k = msg_rc[s] - 1;
#else
  k = n;
#endif
  if
  KILL
  :: atomic { req_st[w] == Q_NONE ->
       req_st[w] = Q_SENT; req_key[w] = k; req_v[w] = v; req_orphan[w] = 0;
       printf("STORY %d charge key %d\n", w, k); k = 0 }
  fi;
  if
  KILL
  :: atomic { req_st[w] == Q_ANSWERED ->
       req_st[w] = Q_NONE; req_key[w] = 0; req_v[w] = 0;
       if
       :: req_ans[w] == A_PI ->
            p = req_pi[w]; req_ans[w] = 0; req_pi[w] = 0;
            printf("STORY %d answer pi %d status %d\n", w, p, pi_st[p]);
            if
            :: pi_st[p] == PI_SUCCEEDED -> outcome = O_CHARGED; goto record
            :: pi_st[p] == PI_PROCESSING -> outcome = O_PENDING; goto record
            :: pi_st[p] == PI_HARD -> outcome = O_DECLINED; goto record
            :: pi_st[p] == PI_SOFT && n + 1 >= SOFT_ATTEMPTS -> outcome = O_DECLINED; goto record
            :: pi_st[p] == PI_SOFT && n + 1 < SOFT_ATTEMPTS ->
                 printf("STORY %d soft_retry\n", w); goto transient
            fi
       :: req_ans[w] == A_500 -> req_ans[w] = 0; printf("STORY %d answer 500\n", w); goto transient
       :: req_ans[w] == A_409 -> req_ans[w] = 0; printf("STORY %d answer 409\n", w); goto transient
       :: req_ans[w] == A_IDEM -> req_ans[w] = 0;
            printf("STORY %d answer idempotency_error\n", w);
            reason = R_STRIPE_IDEMPOTENCY; goto poison
       fi }
  /* the client times out: the request or its answer was lost, or Stripe is slow */
  :: atomic { req_st[w] != Q_NONE && FAULT ->
       if
       :: req_st[w] == Q_ANSWERED -> req_st[w] = Q_NONE; req_key[w] = 0; req_v[w] = 0;
            req_ans[w] = 0; req_pi[w] = 0
       :: else -> req_orphan[w] = 1
       fi;
       printf("STORY %d stripe_timeout\n", w) };
     goto transient
  fi;

  /* ---- Record: Powertools save_success, an unconditional UpdateItem ---- */
record:
  if
  KILL
  :: atomic { FAULT -> printf("STORY %d save_failed\n", w); holds = 0; rec_active = 0 };
     goto settle_transient
  :: atomic {
       assert(pi_v[p] == v);
       rec_st = REC_COMPLETED; rec_outcome = outcome; rec_pi = p; rec_active = 0; holds = 0;
       printf("STORY %d recorded %d pi %d\n", w, outcome, p) }
  fi;

  /* the batch reports success: the event source mapping deletes the message */
report:
  if
  KILL
  :: atomic {
       assert(pi_v[p] == v);
       msg_st[s] = M_DONE; msg_rc[s] = 0; SET_ATTRS(s, 0); SET_OLD(s, 0);
       if
       :: outcome == O_DECLINED -> reported_declined = 1
       :: else -> skip
       fi;
       busy[w] = 0;
       printf("STORY %d done %d pi %d\n", w, outcome, p); forget() };
     goto end_idle
  fi;

  /* ---- failure paths: the function raised inside the claim ---- */
transient:
  reason = 0;
poison:
  if
  :: holds ->
       /* Powertools calls _delete_record; the pipeline's persistence layer releases */
       if
       KILL
       :: atomic { FAULT -> printf("STORY %d release_failed\n", w); holds = 0; rec_active = 0 }
       :: atomic {
#ifdef RELEASE_DELETES
            rec_st = REC_NONE;
#else
            rec_ipx = 1;
#endif
            holds = 0; rec_active = 0;
            printf("STORY %d released\n", w) }
       fi
  :: else -> skip
  fi;
  if
  :: reason != 0 -> goto dead_letter
  :: else -> skip
  fi;

settle_transient:
  if
  :: msg_rc[s] >= MAX_RECEIVE -> reason = R_RETRIES_EXHAUSTED; goto dead_letter
  :: else -> skip
  fi;
  /* the record is reported failed: SQS delivers it again after the visibility timeout */
  if
  KILL
  :: atomic { msg_st[s] = M_QUEUED; busy[w] = 0; printf("STORY %d retry\n", w); forget() };
     goto end_idle
  fi;

  /* SendMessage to the DLQ with the chargeq-* attributes, then the record is reported
     done (a kill between the two leaves a duplicate, as SQS_DUPLICATES does) */
dead_letter:
  if
  KILL
  :: atomic {
       msg_st[s] = M_DLQ; msg_reason[s] = reason; SET_ATTRS(s, 1); busy[w] = 0;
       printf("STORY %d dead_letter %d\n", w, reason); forget() };
     goto end_idle
  fi
}

/* When nothing can move any more: every copy settled, every dead letter with a reason, a
   stored decline never beside money taken. */
active proctype monitor() {
  byte i;
  timeout ->
  assert(SETTLED);
  assert(!reported_declined || taken == 0);
  do
  :: i < NSLOT -> assert(msg_st[i] != M_DLQ || msg_reason[i] != 0); i++
  :: else -> break
  od
}

ltl settles { <> [] SETTLED }

init {
  atomic {
    msg_st[0] = M_QUEUED; msg_v[0] = 0;   /* the producer's first send */
    printf("STORY send 0 v 0\n");
    run stripe();
    run environment();
    run worker(0);
#if NW > 1
    run worker(1);
#endif
  }
}
