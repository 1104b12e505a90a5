// Runs on both sides of a thread boundary: every thread that holds a group reads and writes
// the shared memory described here, so this module is the single source of truth for it.
//
// A group tree (a root WaitGroup and its sub-groups) owns three growable SharedArrayBuffers:
//   tree  - tree-wide counters, then one record of GROUP_WORDS Int32 words per group;
//   slots - one 64-byte record per task, allocated from this arena by every group of the tree;
//   log   - the failure log: a fixed index of records, then the serialized envelopes.
// Whoever holds any group of a tree can read and repair every group of it: a thread that sweeps
// up after a dead worker corrects the counters of groups it has never seen.
import { endianness } from 'node:os';

/**
 * Version of the shared-memory layout, bumped whenever the meaning of any index or size in this
 * module changes. `WaitGroup.from()` and `Task.from()` refuse a value shared by a copy of the library
 * with another version (ERR_LAYOUT_VERSION): every thread must load the same copy of the package.
 */
export const LAYOUT_VERSION = 2;

/** Tags written at word 0 so `from()` can reject memory of another kind. ('WGH1', 'WGT1') */
export const HEADER_MAGIC = 0x57474831;
export const TREE_MAGIC = 0x57475431;

// ---- group record (Int32 words, relative to the group's record in the tree buffer) ----
export const H_MAGIC = 0;
export const H_VERSION = 1;
/** Id of this group within its tree (1 for the root). */
export const H_GROUP_ID = 2;
/** Id of the parent group, 0 for a root. */
export const H_PARENT_ID = 3;
/**
 * Units not yet done (sub-groups' units included) times PENDING_UNIT, plus PENDING_WAITED while a
 * thread may be asleep on this word. Waiters sleep on it. The flag sits below the count, so no
 * carry or borrow of the count (not even the wrap of an add past MAX_UNITS that is then undone)
 * can change it; and a completion learns from the one atomic step that lowers the count whether
 * to notify, without another read.
 */
export const H_PENDING = 4;
export const PENDING_UNIT = 2;
export const PENDING_WAITED = 1;
/**
 * Units ever added (low and high 32 bits of a 64-bit count), by threads without a cell of their
 * own (H_ADDED_CELLS): the group's `added` is this plus every cell.
 */
export const H_ADDED_LO = 5;
export const H_ADDED_HI = 6;
/** Failures recorded in this group or a descendant. */
export const H_FAILED = 7;
/** 0: live; CANCEL_WRITING: a canceller is writing the reason; CANCEL_DONE: cancelled. */
export const H_CANCEL = 8;
/** How the reason is stored: one of the REASON_* values. */
export const H_REASON_KIND = 9;
/** REASON_FAILURE: the failure ordinal; REASON_STORED: the reason's offset in the log's data area. */
export const H_REASON_REF = 10;
/** REASON_STORED: the reason's byte length. */
export const H_REASON_LENGTH = 11;
export const H_FLAGS = 12;
/** Most `go()` functions running at once in all threads; 0 for no limit. */
export const H_LIMIT = 13;
/** `go()` functions running now, in all threads. */
export const H_RUNNING = 14;
/** Threads that have `go()` functions queued for a free slot (so a release knows to notify). */
export const H_LIMIT_WAITERS = 15;
/** Entries used in this group's link table (H_LINK_TABLE), by `link()` calls in any thread. */
export const H_LINKS = 16;
/** Thread that created the group. */
export const H_CREATOR = 17;
/** Threads sleeping on H_PENDING now (for diagnostics and tests: completions read PENDING_WAITED). */
export const H_WAITERS = 18;
/**
 * 1 while a thread sleeping on H_PENDING wants to be woken by the group's next failure, to rebuild
 * it before the wait ends. The recorder that takes it (1 -> 0) notifies; the waiter sets it again
 * before it next sleeps, so waking costs one notify per sleep, however fast failures come.
 */
export const H_FAIL_WATCH = 19;
/**
 * ADDED_CELLS cells of ADDED_CELL_WORDS words: a thread's id + 1 (0: free), then the units that
 * thread added to the group, as a 64-bit count (low, then high). Only that thread writes its
 * count, with plain writes: an `add()` makes one atomic operation fewer. Threads that find every
 * cell taken count in H_ADDED_LO/HI; a dead thread's count is moved there and its cell freed.
 */
export const H_ADDED_CELLS = 20;
export const ADDED_CELL_WORDS = 3;
export const ADDED_CELLS = 4;
/**
 * The link table: MAX_LINKS entries of LINK_WORDS words naming each linked group (its tree's two
 * identity words, then its id, written last: an entry with id 0 is still being written).
 */
export const H_LINK_TABLE = 32;
export const LINK_WORDS = 3;
export const MAX_LINKS = 10;
export const GROUP_WORDS = 64;

export const FLAG_CANCEL_ON_ERROR = 1;

export const CANCEL_NONE = 0;
export const CANCEL_WRITING = 1;
export const CANCEL_DONE = 2;

export const REASON_NONE = 0;
export const REASON_STORED = 1;
export const REASON_FAILURE = 2;
/** Largest cancellation reason kept as is; a larger one is replaced by a description. */
export const REASON_MAX_BYTES = 64 * 1024;

// ---- tree (Int32 words of the tree buffer) ----
export const T_MAGIC = 0;
export const T_VERSION = 1;
/** Random 64-bit identity of the tree, so each thread keeps one object per tree and group. */
export const T_ID_LO = 2;
export const T_ID_HI = 3;
/** Last group id handed out. */
export const T_GROUP_SEQ = 4;
export const T_MAX_GROUPS = 5;
/** Slots ever handed out fresh: slots at and above this index have never held a task. */
export const T_SLOT_HIGH = 6;
/** Most slots: the capacity of the tree. */
export const T_CAPACITY = 7;
/** Where the next scan for a free slot starts, when no fresh slot is left. */
export const T_SLOT_CURSOR = 8;
/** Failures ever recorded in the tree: the next failure's ordinal. */
export const T_FAIL_SEQ = 9;
/** Failures kept in full; later ones are only counted. */
export const T_MAX_FAILURES = 10;
/** Bytes of envelope data reserved so far in the log's data area. */
export const T_LOG_TAIL = 11;
/** Most bytes of envelope data the log may hold. */
export const T_LOG_MAX = 12;
/** Random words naming the tree's private channel (worker-exit notices). */
export const T_SECRET = 13;
export const T_SECRET_WORDS = 4;
export const TREE_WORDS = 32;
/** Group `id` has its record at Int32 word `TREE_WORDS + (id - 1) * GROUP_WORDS`. */
export const TREE_INITIAL_GROUPS = 16;

// ---- slots: one record of SLOT_BYTES per task ----
// bytes 0-7:   state, a 64-bit word: generation (high 32 bits) and remaining units (low 32 bits).
//              Remaining 0 means free. The generation advances when the last unit is taken, in the
//              same atomic step, so a free slot's generation is one no handle has ever held: a claim
//              only has to change the remaining units (a 32-bit compare-and-exchange), and a handle
//              of an earlier task, whose generation is stale, can never touch the slot's next occupant.
// bytes 8-11:  owner thread id (the last thread to create or rebuild the task)
// bytes 12-15: group id
// bytes 16-23: time the task was added (ms since the epoch, float64)
// bytes 24-27: ready: low 31 bits of (generation + 1) for the generation whose metadata (owner, group,
//              time, label) is written (+ 1: a fresh slot's zeroes must not read as ready);
//              top bit: the task is a `go()` function holding one of its group's `limit` slots
// bytes 28-29: label length in UTF-16 units (uint16), bytes 30-63: label
export const SLOT_BYTES = 64;
export const SLOT_WORDS32 = SLOT_BYTES / 4;
export const SLOT_WORDS64 = SLOT_BYTES / 8;
/**
 * Int32 words of the state holding the remaining units and the generation: which half of the
 * 64-bit word each is depends on the platform's byte order (s390x is big-endian).
 */
export const S_REMAINING32 = endianness() === 'LE' ? 0 : 1;
export const S_GENERATION32 = 1 - S_REMAINING32;
export const S_OWNER = 2;
export const S_GROUP = 3;
/** Index of the time in a Float64Array view, relative to the slot's first float64. */
export const S_SINCE64 = 2;
export const S_READY = 6;
/** Index of the label length in a Uint16Array view, relative to the slot's first uint16. */
export const S_LABEL_LEN16 = 14;
export const S_LABEL16 = 15;
export const LABEL_UNITS = (SLOT_BYTES - S_LABEL16 * 2) / 2;
/** Slots the arena starts with and grows by; it never grows past the capacity. */
export const SLOT_CHUNK = 64;

/** Remaining units live in the low 32 bits of a slot's state. */
export const REMAINING_MASK = 0xffffffffn;
export const GENERATION_UNIT = 0x100000000n;

// ---- failure log ----
// An index of LOG_ENTRY_WORDS Int32 words per kept failure, then the data area.
export const LOG_ENTRY_WORDS = 4;
/** Entry word: LOG_READY once the envelope is written; LOG_OMITTED when no room was left for it. */
export const L_STATE = 0;
export const L_OFFSET = 1;
export const L_LENGTH = 2;
export const L_GROUP = 3;
export const LOG_EMPTY = 0;
export const LOG_READY = 1;
export const LOG_OMITTED = 2;
export const LOG_DATA_CHUNK = 64 * 1024;

// ---- defaults ----
/** Default `capacity`: tasks pending at once in a tree. Memory is committed as slots are used. */
export const DEFAULT_CAPACITY = 65_536;
/** Largest `capacity`: 64 MiB of slots. */
export const MAX_CAPACITY = 1 << 20;
/** Default most groups (root and sub-groups) a tree can ever create. */
export const DEFAULT_MAX_GROUPS = 65_536;
/** Default failures kept in full per tree; later ones are counted. */
export const DEFAULT_MAX_FAILURES = 1000;
/** Default bytes of serialized failures kept per tree. */
export const DEFAULT_FAILURE_BYTES = 16 * 1024 * 1024;
/** Largest units one task, or one group's pending count, may hold. */
export const MAX_UNITS = 0x7fffffff;
