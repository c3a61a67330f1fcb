// The server's shapes the web app uses — types, and the one pure piece of the server the browser
// runs too: the flow edges as events make them (the timeline redraws the graph of a past moment).
export { EdgeTable } from '../../server/protocol/edges.ts';
export type { Conversation, Difference, FlowDelta, FlowEdge, FlowEvent, FlowSnapshot } from '../../server/protocol/flow.ts';
export type { GradeResult } from '../../server/protocol/diagnosis.ts';
export type { ProbeResult } from '../../server/protocol/probe.ts';
export type { ActionEntry, LabSummary, LabView, SessionSummary, Topology } from '../../server/protocol/session.ts';
export type { TerminalExit, TerminalOpened, TerminalOutput } from '../../server/protocol/terminal.ts';
export type { CreateWorkshop, EndedBy, FeedEvent, JoinAddress, LabSlot, LabSlotState, LearnerAction, LearnerView, Me, StartProgress, TrainerLearner, TrainerSlot, TrainerView, WorkshopInfo } from '../../server/protocol/workshop.ts';
export type { EngineStatus } from '../../server/protocol/engines.ts';
export type { PreparePlan, PrepareProgress, WarmStatus } from '../../server/protocol/warm.ts';
