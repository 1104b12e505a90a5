// Runs on both sides of a thread boundary: every thread that holds a group reads and writes the
// shared memory described here, so this module is the single source of truth for it. The protocol
// that moves these words is explained, step by step, in docs/protocol.md.
//
// A group tree (a root WaitGroup and its sub-groups) owns three SharedArrayBuffers:
//   tree  - tree-wide counters, the thread registry (one journal per registered thread), then one
//           record of GROUP_WORDS Int32 words per group;
//   slots - one 192-byte record per task, allocated from this arena by every group of the tree,
//           in blocks of 256 that start with the census of their tasks (16 bytes each);
//   log   - the failure log: a fixed index of entries, then the serialized envelopes.
// Once shared, each buffer is either fixed at its full size (FIXED_MAX_BYTES or less) or growable
// up to it. Before its first share a tree is private to its thread and its buffers are compact
// (see COMPACT_GROUPS): tree.ts moves them to larger ones as they fill, and to their shared form
// at the first share.
// Whoever holds any group of a tree can read and repair every group of it: a thread that sweeps
// up after a dead worker finishes that worker's operation in flight from its journal.
import { endianness } from 'node:os';

/**
 * Version of the shared-memory layout, bumped whenever the meaning of any index or size in this
 * module changes. `WaitGroup.from()` and `Task.from()` refuse a value shared by a copy of the library
 * with another version (ERR_LAYOUT_VERSION): every thread must load the same copy of the package.
 */
export const LAYOUT_VERSION = 3;

/** Tags written at word 0 so `from()` can reject memory of another kind. ('WGH1', 'WGT1') */
export const HEADER_MAGIC = 0x57474831;
export const TREE_MAGIC = 0x57475431;

/** Index of the high Int32 half of a 64-bit word, relative to its low word index (byte order). */
export const HI32 = endianness() === 'LE' ? 1 : 0;
/** Index of the low Int32 half of a 64-bit word, relative to the word's first Int32 index. */
export const LO32 = 1 - HI32;

// ---- laned counters ----
// A laned counter is a 64-bit word: the count in the high 32 bits, one parity bit per registered
// thread ("lane") in bits 1-31, and bit 0 free for a flag (PENDING_WAITED on a pending word).
// Every change a thread makes to the count also flips its own lane bit, in the same atomic step.
// The thread writes the bit's value to its journal before the step: a sweeper that reads the
// journal after the thread died knows, by comparing, whether that step happened.
/** Registered threads per tree at most: one lane bit each in every laned counter. */
export const LANES = 31;
/** One unit of a laned counter's count. */
export const COUNT_UNIT = 1n << 32n;
/** Bit 0 of a pending word: a thread may be asleep on it (notify when the count reaches zero). */
export const PENDING_WAITED = 1n;

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
/** Log entries claimed so far, a lower bound (entries are claimed in order, see L_STATE). */
export const T_FAIL_SEQ = 9;
/** Failures kept in full; later ones are only counted. */
export const T_MAX_FAILURES = 10;
/** Bytes of envelope data reserved so far in the log's data area. */
export const T_LOG_TAIL = 11;
/** Most bytes of envelope data the log may hold. */
export const T_LOG_MAX = 12;
// Words 13 to 16 are unused (they named a per-tree exit channel before exits moved to the 64
// shared channels of platform/exits.ts).
/** A word any thread may change: `Tree.attach()` writes it through a known tree to tell its memory from a copy. */
export const T_PROBE = 17;
export const TREE_WORDS = 32;

// ---- thread registry: LANES entries of ENTRY_WORDS Int32 words, from word REGISTRY ----
// Entry `lane` belongs to one live thread at a time. Its journal words are written by that thread
// with plain stores (they are read by a sweeper only after the thread has exited, or by a sweeper
// that claimed the entry and resumes the dead thread's operation as if it were that thread).
export const REGISTRY = TREE_WORDS;
export const ENTRY_WORDS = 32;
/** 0: free; > 0: Node threadId + 1 of the live owner; < 0: -(lane + 1) of the thread sweeping it. */
export const E_OWNER = 0;
/** Node threadId of the owner, kept while its entry is swept (for WorkerExitedError). */
export const E_THREAD = 1;
/** Node threadId + 1 of the thread that created the owner (0: unknown): a worker dies with its parent. */
export const E_PARENT = 2;
/**
 * The step in flight, in one word so that one plain store moves the journal from step to step:
 * the operation (OP_*, bits 0-3), its phase (PHASE_*, bits 4-6), the thread's lane bit in the
 * word the step changes, before the step (bit 7), and the level of the group chain the step is at
 * (0: the group itself, 1: its parent, ...; bits 8-15). See `step()`.
 */
export const E_STEP = 3;
/** The operation's group id. */
export const E_GROUP = 4;
/** The task's slot, or -1. */
export const E_SLOT = 5;
/** Units the operation adds or completes. */
export const E_UNITS = 6;
/** The log entry holding the failure this operation records, or -1. */
export const E_ENTRY = 7;
/** OP_DONE: the task's remaining units before the take (exact: only this thread takes them). */
export const E_REMAINING = 8;
/** Flags of the operation (OPF_*). */
export const E_FLAGS = 9;
/** The slot this thread keeps as its spare (owned, empty), or -1: a new view of the tree takes it back. */
export const E_SPARE = 10;
/** A random number that tells this thread apart from others with the same threadId (Deno's workers all have 0). */
export const E_TOKEN = 11;
/** OP_DONE_SHARED: sequence number of the take, modulo 2^30. */
export const E_SEQ = 14;
/**
 * OP_DONE_SHARED: 2 * seq while the take is not known to have happened, 2 * seq + 1 once it is:
 * written so by the taker right after its compare-and-exchange, or by a thread that replaced the
 * state the take wrote (E_NEW64) and found no acknowledgement of it in the slot (S_ACK64).
 */
export const E_CONFIRM = 15;
/** OP_ADD: this thread's added-cell value before the add (float64, words 16-17). */
export const E_CELL64 = 16;
/** OP_DONE_SHARED: the slot state this thread's compare-and-exchange writes (64-bit, words 18-19). */
export const E_NEW64 = 18;
/** OP_DONE_SHARED: the slot state the compare-and-exchange expects (64-bit, words 22-23). */
export const E_OLD64 = 22;
/** cancel(): the reason's kind, reference and length (REASON_*), journaled before the cancel word is claimed. */
export const E_REASON_KIND = 24;
export const E_REASON_REF = 25;
export const E_REASON_LENGTH = 26;

export const OP_NONE = 0;
/** add(): claim or reuse a slot, raise pending up the chain, count in this thread's cell. */
export const OP_ADD = 1;
/** add() undoing its raises after an overflow. */
export const OP_ADD_UNDO = 2;
/** done() of a task only this thread holds a handle of. */
export const OP_DONE = 3;
/** done() through a shared handle: a tagged compare-and-exchange on the slot state. */
export const OP_DONE_SHARED = 4;
/** go() with a limit: a running slot taken by compare-and-exchange on H_RUNNING (phase 0), or given back by a sweep (phase 1). */
export const OP_LIMIT = 5;

/**
 * OP_ADD and OP_ADD_UNDO: counting units in this lane's added cells, level by level (E_CELL64
 * holds the journaled level's cell before its step). OP_ADD's raises are phase 0.
 */
export const PHASE_COUNT = 1;

/** Phases of OP_DONE and OP_DONE_SHARED, in order. */
export const PHASE_TAKE = 0;
export const PHASE_FAIL = 1;
export const PHASE_LIMIT = 2;
export const PHASE_LOWER = 3;
export const PHASE_FREE = 4;

/** The completion fails the task (E_ENTRY names the failure, or -1 when the log had no room). */
export const OPF_FAILED = 1;
/** The task holds one of its group's `limit` slots, released in PHASE_LIMIT. */
export const OPF_LIMITED = 2;

/** The journal word of a step: see E_STEP. */
export function step(op: number, phase: number, level: number, parity: number): number {
  return op | (phase << 4) | (parity << 7) | (level << 8);
}
export function stepOp(word: number): number {
  return word & 0xf;
}
export function stepPhase(word: number): number {
  return (word >> 4) & 0x7;
}
export function stepParity(word: number): 0 | 1 {
  return (word >> 7) & 1 ? 1 : 0;
}
export function stepLevel(word: number): number {
  return (word >> 8) & 0xff;
}

// ---- group record (Int32 words, relative to the group's record in the tree buffer) ----
export const H_MAGIC = 0;
export const H_VERSION = 1;
/** Id of this group within its tree (1 for the root). */
export const H_GROUP_ID = 2;
/** Id of the parent group, 0 for a root. */
export const H_PARENT_ID = 3;
export const H_FLAGS = 4;
/** Most `go()` functions running at once in all threads; 0 for no limit. */
export const H_LIMIT = 5;
/** Entries used in this group's link table (H_LINK_TABLE), by `link()` calls in any thread. */
export const H_LINKS = 6;
/** Thread that created the group. */
export const H_CREATOR = 7;
/** Threads sleeping on H_PENDING now (for diagnostics and tests: completions read PENDING_WAITED). */
export const H_WAITERS = 8;
/**
 * 1 while a thread sleeping on H_PENDING wants to be woken by the group's next failure, to rebuild
 * it before the wait ends. The recorder that takes it (1 -> 0) notifies; the waiter sets it again
 * before it next sleeps, so waking costs one notify per sleep, however fast failures come.
 */
export const H_FAIL_WATCH = 9;
/** CANCEL_NONE; cancelWriting(lane): that thread is writing the reason; CANCEL_DONE: cancelled. */
export const H_CANCEL = 10;
/** How the reason is stored: one of the REASON_* values. */
export const H_REASON_KIND = 11;
/** REASON_FAILURE: the failure's log entry; REASON_STORED: the reason's offset in the log's data area. */
export const H_REASON_REF = 12;
/** REASON_STORED: the reason's byte length. */
export const H_REASON_LENGTH = 13;
/** Threads that have `go()` functions queued for a free slot (so a release knows to notify). */
export const H_LIMIT_WAITERS = 14;
/** Depth of the group: 0 for a root, parent's + 1 for a sub-group. */
export const H_DEPTH = 15;
/** Laned counter (64-bit): units not yet done, sub-groups' included; PENDING_WAITED in bit 0. Waiters sleep on it. */
export const H_PENDING = 16;
/** Laned counter (64-bit): failures recorded in this group or a descendant. */
export const H_FAILED = 18;
/** Laned counter (64-bit): `go()` functions holding one of the group's `limit` slots, in all threads. */
export const H_RUNNING = 20;
/**
 * The link table: MAX_LINKS entries of LINK_WORDS words naming each linked group (its tree's two
 * identity words, then its id, written last: an entry with id 0 is still being written).
 */
export const H_LINK_TABLE = 24;
export const LINK_WORDS = 3;
export const MAX_LINKS = 10;
/**
 * LANES float64 cells (two words each; words 64-127, four cache lines): the units lane `lane` ever
 * added to the group, written only by the lane's thread with plain stores (an `add()` makes no
 * atomic operation for them). A cell outlives its thread: the next owner of the lane goes on
 * counting in it. Lane `lane`'s cell is float64 `H_ADDED_CELLS / 2 + (lane & 3) * 8 + (lane >> 2)`
 * (counters.ts cellOf()): lanes 0-3 each on a line of their own.
 */
export const H_ADDED_CELLS = 64;
/** Length of the group's name kept in H_NAME16, in UTF-16 units. */
export const H_NAME_LEN = 54;
/**
 * The group's name (its path: `root/downloads`), NAME_UNITS UTF-16 units from Int32 word 128 of the
 * record (uint16 index 256), written before the record is published, so every thread can name it;
 * a longer name keeps its end, after a leading '…'.
 */
export const H_NAME16 = 256;
export const NAME_UNITS = 64;
export const GROUP_WORDS = 160;
/** Deepest sub-group nesting (a root is at depth 0). */
export const MAX_DEPTH = 64;

export const FLAG_CANCEL_ON_ERROR = 1;

export const CANCEL_NONE = 0;
export const CANCEL_DONE = 1;
/** The cancel word while thread `lane` writes the reason: negative, and names the writer. */
export function cancelWriting(lane: number): number {
  return -(lane + 1);
}

export const REASON_NONE = 0;
export const REASON_STORED = 1;
export const REASON_FAILURE = 2;
/** Largest cancellation reason kept as is; a larger one is replaced by a description. */
export const REASON_MAX_BYTES = 64 * 1024;

/** Group `id` has its record at Int32 word `GROUPS_BASE + (id - 1) * GROUP_WORDS` of the tree buffer. */
export const GROUPS_BASE = REGISTRY + LANES * ENTRY_WORDS;
export const TREE_INITIAL_GROUPS = 16;

// ---- private (compact) trees ----
// A growable SharedArrayBuffer reserves its maximum length of address space: two memory mappings,
// which the garbage collector does not count, so that a process making one tree per request runs
// out of mappings (vm.max_map_count) before it collects them. A fixed-length buffer costs none. So
// a tree starts with small fixed buffers, known to its creating thread only, and moves to larger
// fixed ones as they fill (nobody else holds them: the move is unseen); its first share() moves
// it, once, to its shared form.
/** Group records a private tree starts with; each move doubles them. */
export const COMPACT_GROUPS = 2;
/** Slots a private tree starts with; each move doubles them. */
export const COMPACT_SLOTS = 4;
/** Failure-log entries a private tree starts with; each move doubles them. */
export const COMPACT_LOG_ENTRIES = 4;
/** Envelope bytes a private tree's log starts with; each move doubles them. */
export const COMPACT_LOG_BYTES = 2048;
/**
 * A buffer whose full size (from the tree's options) is at most this many bytes is made fixed at
 * that size when the tree is created: it never moves, and costs no mapping even once shared. A
 * larger one is compact while the tree is private, and growable once shared.
 */
export const FIXED_MAX_BYTES = 64 * 1024;

// ---- slots: one record of SLOT_BYTES per task, in blocks of BLOCK_SLOTS behind their census ----
// bytes 0-7:   state (64-bit): remaining units (bits 0-30), tag (bits 31-35: lane + 1 of the thread
//              whose shared take wrote this state, 0 for none), generation (bits 36-63). The
//              generation advances when a task that was shared completes, so no handle of it can
//              match the slot's next occupant; a task never shared leaves it as it is.
// bytes 8-15:  owner (64-bit): lane + 1 of the thread that holds the slot (0: free, OWNER_RETIRED:
//              never used again) in the low 32 bits, the generation it holds it at in the high 32.
//              Claimed and adopted by compare-and-exchange, so an owner is never paired with
//              another occupant's generation.
// bytes 16-19: group id
// bytes 20-23: flags (SLOT_LIMITED), written by the owner
// bytes 24-31: unused (the time the task was added is in its census entry)
// bytes 32-39: ack (64-bit): the state the last shared take wrote, written by that taker right
//              after it acknowledged the take in its journal, so that the next taker, reading it
//              in the same cache line as the state, knows it need not confirm that take
// bytes 40-41: label length in UTF-16 units (uint16; NO_LABEL for none), bytes 42-191: label
export const SLOT_BYTES = 192;
export const SLOT_WORDS32 = SLOT_BYTES / 4;
export const SLOT_WORDS64 = SLOT_BYTES / 8;
export const S_STATE64 = 0;
export const S_OWNER64 = 1;
export const S_GROUP = 4;
export const S_FLAGS = 5;
export const S_ACK64 = 4;
export const S_LABEL_LEN16 = 20;
export const S_LABEL16 = 21;
export const LABEL_UNITS = (SLOT_BYTES - S_LABEL16 * 2) / 2;
export const NO_LABEL = 0xffff;
export const SLOT_LIMITED = 2;
/** Slots the arena starts with and grows by; it never grows past the capacity. */
export const SLOT_CHUNK = 64;

// ---- the census: what a pending-task summary reads, CENSUS_BYTES per slot ----
// A WaitTimeoutError summarizes up to a million pending tasks. Read from the slots themselves, that
// is one 64-byte line per 192-byte slot, 26-38 ms for a million; the census packs what the summary
// needs into 16 bytes per slot, at the head of each block of BLOCK_SLOTS slots. It is diagnostic
// only: no step of the protocol reads it, so a thread that dies while writing it can make a summary
// miscount that slot's task, never lose or double a unit.
// bytes 0-7:  a 64-bit key: its low 32 bits (the Int32 at LO32) are 0 while the slot holds no task,
//             else the group id (bits 0-20) | (lane + 1) << 21 of the thread holding it (kept equal
//             to the owner word's lane, see Slots#adopt); its high 32 bits are the task's
//             generation, so that a late update meant for an earlier occupant fails
// bytes 8-15: the time the task was added (ms since the epoch, float64)
// Entries are not in slot order within a block: slot j's entry is at ((j % 64) * 4 + j / 64), so
// that the entries of neighbouring slots, the spares of different threads, are on different cache
// lines (each add() and done() writes its slot's entry).
/** Slots per block: the block starts with their census entries, then the slots follow. */
export const BLOCK_SLOTS = 256;
export const CENSUS_BYTES = 16;
export const CENSUS_BLOCK_BYTES = BLOCK_SLOTS * CENSUS_BYTES;
export const BLOCK_BYTES = CENSUS_BLOCK_BYTES + BLOCK_SLOTS * SLOT_BYTES;
/** Census word 0: the group id bits. */
export const CENSUS_GROUP_MASK = (1 << 21) - 1;
export const CENSUS_LANE_SHIFT = 21;

/** Byte offset of slot `index` in the slots buffer. */
export function slotByte(index: number): number {
  return (index >>> 8) * BLOCK_BYTES + CENSUS_BLOCK_BYTES + (index & 255) * SLOT_BYTES;
}

/** Byte offset of the census entry of slot `index`. */
export function censusByte(index: number): number {
  return (index >>> 8) * BLOCK_BYTES + (((index & 63) << 2) | ((index & 255) >>> 6)) * CENSUS_BYTES;
}

/** The slot whose census entry is entry `entry` (0-255) of block `block`: the inverse of censusByte(). */
export function censusSlot(block: number, entry: number): number {
  return block * BLOCK_SLOTS + (entry & 3) * 64 + (entry >>> 2);
}

/** Bytes a slots buffer needs to hold slots 0 to `count` - 1 and their census. */
export function slotsBytes(count: number): number {
  return count <= 0 ? 0 : slotByte(count - 1) + SLOT_BYTES;
}

/** Slots a slots buffer of `bytes` holds in full, census included (the inverse of slotsBytes()). */
export function slotsWithin(bytes: number): number {
  const blocks = Math.floor(bytes / BLOCK_BYTES);
  const rest = bytes - blocks * BLOCK_BYTES - CENSUS_BLOCK_BYTES;
  return blocks * BLOCK_SLOTS + (rest <= 0 ? 0 : Math.min(BLOCK_SLOTS, Math.floor(rest / SLOT_BYTES)));
}

export const REMAINING_BITS = 31n;
export const REMAINING_MASK = (1n << REMAINING_BITS) - 1n;
export const TAG_SHIFT = 31n;
export const TAG_MASK = 0x1fn << TAG_SHIFT;
export const GENERATION_SHIFT = 36n;
/** Generations a slot goes through before it is retired (its generation would wrap). */
export const GENERATIONS = 1 << 28;
export const OWNER_RETIRED = 0xff;

// ---- failure log ----
// An index of LOG_ENTRY_WORDS Int32 words per kept failure, then the data area. Entries are claimed
// in index order by compare-and-exchange on their state word, so claimed entries form a prefix.
export const LOG_ENTRY_WORDS = 4;
/**
 * Entry state: LOG_EMPTY; logWriting(lane) while that thread writes or holds it staged;
 * LOG_READY once published; LOG_OMITTED when no room was left or its writer died before publishing;
 * LOG_DISCARDED when the completion it was staged for did not happen.
 */
export const L_STATE = 0;
export const L_OFFSET = 1;
export const L_LENGTH = 2;
export const L_GROUP = 3;
export const LOG_EMPTY = 0;
export const LOG_READY = 1;
export const LOG_OMITTED = 2;
export const LOG_DISCARDED = 3;
/** The entry state while thread `lane` holds the entry: negative, and names the writer. */
export function logWriting(lane: number): number {
  return -(lane + 1);
}
export const LOG_DATA_CHUNK = 64 * 1024;

// ---- defaults ----
/** Default `capacity`: tasks pending at once in a tree. Memory is committed as slots are used. */
export const DEFAULT_CAPACITY = 65_536;
/** Largest `capacity`: 208 MiB of slots and their census. */
export const MAX_CAPACITY = 1 << 20;
/** Default most groups (root and sub-groups) a tree can ever create. */
export const DEFAULT_MAX_GROUPS = 65_536;
/** Largest `maxGroups`: 512 MiB of group records at most. */
export const MAX_GROUPS = 1 << 20;
/** Largest `maxFailures`. */
export const MAX_FAILURES = 1 << 20;
/** Largest `failureBytes`. */
export const MAX_FAILURE_BYTES = 1 << 30;
/** Default failures kept in full per tree; later ones are counted. */
export const DEFAULT_MAX_FAILURES = 1000;
/** Default bytes of serialized failures kept per tree. */
export const DEFAULT_FAILURE_BYTES = 16 * 1024 * 1024;
/** Largest units one task, or one group's pending count, may hold. */
export const MAX_UNITS = 0x7fffffff;
