/*
 * The services around the charge function, as the function sees them: the SQS queue and
 * its DLQ, the idempotency record Powertools keeps in DynamoDB, and Stripe. Included by
 * charge_protocol.pml; docs/protocol.md says where each behaviour comes from.
 *
 * Every STORY printf is read by model/story.py to tell a counterexample as a story;
 * pan does not print them while it searches.
 */

/* ---- bounds (override with -D; docs/protocol.md lists the defaults) ---- */
#ifndef NSLOT
#define NSLOT 3          /* message copies alive at once: first send, re-sends, duplicates */
#endif
#ifndef NW
#define NW 2             /* workers (concurrent Lambda invocations or records of a batch) */
#endif
#ifndef MAX_RECEIVE
#define MAX_RECEIVE 3    /* the queue's maxReceiveCount */
#endif
#ifndef SOFT_ATTEMPTS
#define SOFT_ATTEMPTS 2  /* settings.soft_decline_attempts (<= MAX_RECEIVE - 1) */
#endif
#ifndef MAX_FAULTS
#define MAX_FAULTS 3     /* worker kills, DynamoDB and network failures, in all */
#endif
#ifndef MAX_DAYS
#define MAX_DAYS 1       /* "more than 24 hours pass" events */
#endif
#ifndef MAX_REDRIVES
#define MAX_REDRIVES 1   /* StartMessageMoveTask redrives of a DLQ message */
#endif
#ifndef RESEND_SAME
#define RESEND_SAME 1    /* producer re-sends of the same body */
#endif
#ifndef RESEND_OTHER
#define RESEND_OTHER 1   /* producer sends of a different payload under the same request_id */
#endif
#ifndef SQS_DUPLICATES
#define SQS_DUPLICATES 1 /* extra copies SQS delivers (at-least-once) */
#endif
#define MAXPI 4          /* PaymentIntents Stripe may hold for the request */
#define NKEY MAX_RECEIVE /* idempotency keys: attempt-0.. (per delivery in a mutation) */

/* ---- SQS: one request_id; each slot is one message (a copy) of it ---- */
#define M_EMPTY    0
#define M_QUEUED   1     /* visible in the queue */
#define M_INFLIGHT 2     /* received, invisible until deleted or the visibility timeout */
#define M_DLQ      3
#define M_DONE     4     /* deleted after a final result */

/* DLQ reasons: chargeq-reason of the function's own dead letters, or none (redrive policy) */
#define R_REDRIVE_POLICY     1
#define R_PAYLOAD_CONFLICT   2
#define R_RETRIES_EXHAUSTED  3
#define R_STRIPE_IDEMPOTENCY 4

byte msg_st[NSLOT];      /* M_* */
bit  msg_v[NSLOT];       /* payload variant: 0 = the request, 1 = another payload, same id */
byte msg_rc[NSLOT];      /* ApproximateReceiveCount */
/* Fields that only a mutation or a relaxed assumption reads exist only then: fewer
   states for the same behaviour. */
#ifdef TODAY_LOOKUP
bit msg_attrs[NSLOT];    /* carries the function's chargeq-* dead-letter attributes */
bit msg_old[NSLOT];      /* SentTimestamp (or chargeq-first-sent-at) over 23 hours ago */
#define SET_ATTRS(i, a) msg_attrs[i] = a
#define SET_OLD(i, o) msg_old[i] = o
#define ATTRS(i) msg_attrs[i]
#define OLD(i) msg_old[i]
#else
#define SET_ATTRS(i, a) skip
#define SET_OLD(i, o) skip
#define ATTRS(i) 0
#define OLD(i) 0
#endif
#ifdef REDRIVE_CHAIN
bit msg_unclaimed[NSLOT]; /* moved back by a redrive, not claimed since */
bit ttl_gone;              /* the record was deleted by TTL; the rest of the DLQ expired */
#define SET_UNCLAIMED(i, u) msg_unclaimed[i] = u
#define UNCLAIMED(i) msg_unclaimed[i]
#define TTL_GONE ttl_gone
#else
#define TTL_GONE 0
#define SET_UNCLAIMED(i, u) skip
#define UNCLAIMED(i) 0
#endif
byte msg_reason[NSLOT];  /* R_* once in the DLQ */

/* ---- the idempotency record (Powertools, DynamoDB), key request_id ---- */
#define REC_NONE       0
#define REC_INPROGRESS 1
#define REC_COMPLETED  2

#define O_CHARGED  1
#define O_DECLINED 2
#define O_PENDING  3

byte rec_st;             /* REC_* */
bit  rec_v;              /* the payload whose hash is in `validation` */
bit  rec_ipx;            /* in_progress_expiration has passed (or was set to 0: released) */
bit  rec_active;         /* the claiming invocation still runs (its deadline has not come) */
byte rec_outcome;        /* O_* when COMPLETED */
byte rec_pi;             /* the PaymentIntent the stored result describes */

/* ---- Stripe ---- */
#define PI_SUCCEEDED  1
#define PI_PROCESSING 2
#define PI_SOFT       3  /* declined with a "try again" code */
#define PI_HARD       4  /* declined for good (authentication_required included) */

byte pi_n;               /* PaymentIntents created (all carry metadata.request_id) */
byte pi_st[MAXPI];
bit  pi_v[MAXPI];        /* whose customer/amount/currency it was made with */
byte taken;              /* PaymentIntents that took money or may still (succeeded, processing) */

#define K_NONE    0      /* never used, or pruned after 24 hours */
#define K_RUNNING 1      /* the key's first request is still executing */
#define K_SAVED   2      /* status and body saved, replayed to every later request */

#define A_PI   1         /* a PaymentIntent (created, declined, or a replay of either) */
#define A_500  2
#define A_409  3         /* idempotency_key_in_use */
#define A_IDEM 4         /* idempotency_error: same key, other parameters */

byte key_st[NKEY];
bit  key_v[NKEY];        /* the parameters the key was first used with */
byte key_ans[NKEY];      /* the saved answer: A_PI or A_500 */
byte key_pi[NKEY];

/* One HTTP request to Stripe per worker at a time; it outlives a worker that died or
   gave up waiting (an orphan): Stripe may still execute it. */
#define Q_NONE     0
#define Q_SENT     1
#define Q_RUNNING  2
#define Q_ANSWERED 3

byte req_st[NW];
byte req_key[NW];
bit  req_v[NW];
bit  req_orphan[NW];
byte req_ans[NW];
byte req_pi[NW];

/* ---- budgets and bookkeeping ---- */
byte faults;             /* worker kills, DynamoDB / network failures so far */
byte days;
byte redrives;
byte resends_same;
byte resends_other;
byte duplicates;
bit  busy[NW];           /* a worker is inside a delivery */
bit  reported_declined;  /* some message ended with a stored decline */

/* Stripe answers worker w's request (or drops the answer of an orphan). */
inline answer(w, code, p) {
  if
  :: req_orphan[w] ->
       req_st[w] = Q_NONE; req_orphan[w] = 0; req_key[w] = 0; req_v[w] = 0
  :: else -> req_st[w] = Q_ANSWERED; req_ans[w] = code; req_pi[w] = p
  fi
}

/* Stripe's idempotency layer receives worker w's request (docs.stripe.com/api/idempotent_requests). */
inline stripe_begin(w) {
  k = req_key[w];
  if
  :: key_st[k] == K_NONE ->
       key_st[k] = K_RUNNING; key_v[k] = req_v[w]; req_st[w] = Q_RUNNING;
       printf("STORY stripe %d begin key %d v %d\n", w, k, req_v[w]); k = 0
  :: key_st[k] == K_RUNNING ->
       printf("STORY stripe %d 409 key %d\n", w, k); answer(w, A_409, 0); k = 0
  :: key_st[k] == K_SAVED && key_v[k] != req_v[w] ->
       printf("STORY stripe %d idempotency_error key %d\n", w, k); answer(w, A_IDEM, 0); k = 0
  :: key_st[k] == K_SAVED && key_v[k] == req_v[w] ->
       printf("STORY stripe %d replay key %d\n", w, k); answer(w, key_ans[k], key_pi[k]); k = 0
  fi
}

inline new_pi(status, v) {
  if
  :: status == PI_SUCCEEDED || status == PI_PROCESSING -> assert(taken == 0); taken++
  :: else -> skip
  fi;
  pi_st[pi_n] = status; pi_v[pi_n] = v; pi_n++
}

/* The request executes: a PaymentIntent in any status, or a 500 that Stripe saves for the
   key (with or without a PaymentIntent made before the error). */
inline stripe_finish(w) {
  k = req_key[w];
  key_pi[k] = 0;
  if
  :: pi_n < MAXPI -> key_ans[k] = A_PI; new_pi(PI_SUCCEEDED, req_v[w])
  :: pi_n < MAXPI -> key_ans[k] = A_PI; new_pi(PI_PROCESSING, req_v[w])
  :: pi_n < MAXPI -> key_ans[k] = A_PI; new_pi(PI_SOFT, req_v[w])
  :: pi_n < MAXPI -> key_ans[k] = A_PI; new_pi(PI_HARD, req_v[w])
  :: pi_n < MAXPI -> key_ans[k] = A_500; new_pi(PI_SUCCEEDED, req_v[w])
  :: key_ans[k] = A_500
  fi;
  if
  :: key_ans[k] == A_PI ->
       key_pi[k] = pi_n - 1;
       printf("STORY stripe %d made pi %d status %d key %d\n", w, pi_n - 1, pi_st[pi_n - 1], k)
  :: else -> printf("STORY stripe %d saved 500 key %d pis %d\n", w, k, pi_n)
  fi;
  key_st[k] = K_SAVED;
  answer(w, key_ans[k], key_pi[k]);
  k = 0
}

proctype stripe() {
  byte k;
end_stripe:
  do
  :: atomic { req_st[0] == Q_SENT -> stripe_begin(0) }
  :: atomic { req_st[0] == Q_RUNNING -> stripe_finish(0) }
  /* a request whose client gave up may never arrive (lost on the way) */
  :: atomic { req_st[0] == Q_SENT && req_orphan[0] ->
       printf("STORY stripe %d lost\n", 0);
       req_st[0] = Q_NONE; req_orphan[0] = 0; req_key[0] = 0; req_v[0] = 0 }
#if NW > 1
  :: atomic { req_st[1] == Q_SENT -> stripe_begin(1) }
  :: atomic { req_st[1] == Q_RUNNING -> stripe_finish(1) }
  /* a request whose client gave up may never arrive (lost on the way) */
  :: atomic { req_st[1] == Q_SENT && req_orphan[1] ->
       printf("STORY stripe %d lost\n", 1);
       req_st[1] = Q_NONE; req_orphan[1] = 0; req_key[1] = 0; req_v[1] = 0 }
#endif
  od
}

/* ---- what happens around the function: producers, SQS, time, operators ---- */

#define FREE_SLOT(i) (NSLOT > i && msg_st[i] == M_EMPTY)

inline send_copy(v, rc, attrs, old) {
  if
  :: FREE_SLOT(0) -> s = 0
  :: FREE_SLOT(1) -> s = 1
#if NSLOT > 2
  :: FREE_SLOT(2) -> s = 2
#endif
#if NSLOT > 3
  :: FREE_SLOT(3) -> s = 3
#endif
  fi;
  msg_st[s] = M_QUEUED; msg_v[s] = v; msg_rc[s] = rc; SET_ATTRS(s, attrs); SET_OLD(s, old);
  SET_UNCLAIMED(s, 0); msg_reason[s] = 0
}

#define HAS_FREE (FREE_SLOT(0) || FREE_SLOT(1) || FREE_SLOT(2) || FREE_SLOT(3))
#define LIVE(i)  (NSLOT > i && (msg_st[i] == M_QUEUED || msg_st[i] == M_INFLIGHT))
#define NO_STRIPE_REQUEST (req_st[0] == Q_NONE && (NW < 2 || req_st[1] == Q_NONE))
#define NOBODY_BUSY (!busy[0] && (NW < 2 || !busy[1]))
#define LIVE_ANY (LIVE(0) || LIVE(1) || LIVE(2) || LIVE(3))

inline one_day_passes() {
  /* Stripe prunes keys at least 24 hours old; every message now sent long ago. */
  printf("STORY day passes\n");
  k = 0;
  do
  :: k < NKEY ->
       if
       :: key_st[k] == K_SAVED -> key_st[k] = K_NONE; key_v[k] = 0; key_ans[k] = 0; key_pi[k] = 0
       :: else -> skip
       fi;
       k++
  :: else -> break
  od;
  k = 0;
  do
  :: k < NSLOT -> SET_OLD(k, msg_st[k] != M_EMPTY && msg_st[k] != M_DONE); k++
  :: else -> break
  od;
  k = 0
}

/* StartMessageMoveTask: a new message (new ID, SentTimestamp, receive count 0) with the
   attributes of the old one, which include chargeq-first-sent-at when the function had
   dead-lettered it. */
inline move_task(i) {
  msg_st[i] = M_QUEUED; msg_rc[i] = 0; SET_OLD(i, ATTRS(i) && OLD(i));
  SET_UNCLAIMED(i, 1); msg_reason[i] = 0; redrives++;
  printf("STORY redrive %d\n", i)
}

#define DLQ_SLOT(i) (NSLOT > i && msg_st[i] == M_DLQ)
#define CHAIN_SLOT(i) (DLQ_SLOT(i) && UNCLAIMED(i))

proctype environment() {
  byte s, k;
end_env:
  do
  :: atomic { resends_same < RESEND_SAME && HAS_FREE && !TTL_GONE ->
       resends_same++; send_copy(0, 0, 0, 0); printf("STORY send %d v %d\n", s, 0); s = 0 }
  :: atomic { resends_other < RESEND_OTHER && HAS_FREE && !TTL_GONE ->
       resends_other++; send_copy(1, 0, 0, 0); printf("STORY send %d v %d\n", s, 1); s = 0 }
  /* at-least-once: SQS hands out another copy of a message that is still in the queue */
  :: atomic { duplicates < SQS_DUPLICATES && HAS_FREE && LIVE(0) ->
       duplicates++; k = 0; send_copy(msg_v[k], msg_rc[k], ATTRS(k), OLD(k));
       printf("STORY duplicate %d of %d\n", s, k); s = 0; k = 0 }
  :: atomic { duplicates < SQS_DUPLICATES && HAS_FREE && LIVE(1) ->
       duplicates++; k = 1; send_copy(msg_v[k], msg_rc[k], ATTRS(k), OLD(k));
       printf("STORY duplicate %d of %d\n", s, k); s = 0; k = 0 }
  /* redrive policy: receive count would exceed maxReceiveCount; attributes unchanged */
  :: atomic { NSLOT > 0 && msg_st[0] == M_QUEUED && msg_rc[0] >= MAX_RECEIVE ->
       msg_st[0] = M_DLQ; msg_reason[0] = R_REDRIVE_POLICY; printf("STORY redrive_policy %d\n", 0) }
  :: atomic { NSLOT > 1 && msg_st[1] == M_QUEUED && msg_rc[1] >= MAX_RECEIVE ->
       msg_st[1] = M_DLQ; msg_reason[1] = R_REDRIVE_POLICY; printf("STORY redrive_policy %d\n", 1) }
#if NSLOT > 2
  :: atomic { NSLOT > 2 && msg_st[2] == M_QUEUED && msg_rc[2] >= MAX_RECEIVE ->
       msg_st[2] = M_DLQ; msg_reason[2] = R_REDRIVE_POLICY; printf("STORY redrive_policy %d\n", 2) }
#endif
#if NSLOT > 3
  :: atomic { NSLOT > 3 && msg_st[3] == M_QUEUED && msg_rc[3] >= MAX_RECEIVE ->
       msg_st[3] = M_DLQ; msg_reason[3] = R_REDRIVE_POLICY; printf("STORY redrive_policy %d\n", 3) }
#endif
  /* a day: no Lambda or Stripe request lasts that long, so none is running */
  :: atomic { days < MAX_DAYS && NOBODY_BUSY && NO_STRIPE_REQUEST -> days++; one_day_passes() }
  :: atomic { redrives < MAX_REDRIVES && DLQ_SLOT(0) && (!TTL_GONE || UNCLAIMED(0)) ->
       move_task(0) }
  :: atomic { redrives < MAX_REDRIVES && DLQ_SLOT(1) && (!TTL_GONE || UNCLAIMED(1)) ->
       move_task(1) }
#if NSLOT > 2
  :: atomic { redrives < MAX_REDRIVES && DLQ_SLOT(2) && (!TTL_GONE || UNCLAIMED(2)) ->
       move_task(2) }
#endif
#if NSLOT > 3
  :: atomic { redrives < MAX_REDRIVES && DLQ_SLOT(3) && (!TTL_GONE || UNCLAIMED(3)) ->
       move_task(3) }
#endif
#ifdef REDRIVE_CHAIN
  /* The record's TTL (`expiration`: idempotency_expiry after its last claim) covers queue
     retention + DLQ retention: by the time DynamoDB deletes it, every message that was
     alive at that claim is gone. A message redriven since, that failed every delivery
     before a claim and went back to the DLQ, is not: it has a fresh retention. */
  :: atomic { rec_st != REC_NONE && !ttl_gone && !LIVE_ANY && NOBODY_BUSY && NO_STRIPE_REQUEST &&
       (CHAIN_SLOT(0) || CHAIN_SLOT(1) || CHAIN_SLOT(2) || CHAIN_SLOT(3)) ->
       rec_st = REC_NONE; ttl_gone = 1; printf("STORY ttl_deleted\n") }
#endif
  od
}
