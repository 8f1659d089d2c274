/** Precedes the results line a runner prints, so that nothing else on stdout is taken for it. */
export const RESULT_MARK = '@@ws-lifecycle-web-results@@ ';
