// One call of a live-SDK script, recorded instead of thrown: the scripts here make many calls
// in turn and print them all as one JSON object, so a refused call must not stop the rest.
//
// calls[name] becomes the call's result, or {error, http_code} with the SDK's message and
// status (http_code is left out of the JSON when the SDK gave none).

export async function attempt(calls, name, run) {
  try {
    calls[name] = await run();
  } catch (failure) {
    const error = failure?.error ?? failure;
    calls[name] = { error: error?.message ?? String(error), http_code: error?.http_code };
  }
}
