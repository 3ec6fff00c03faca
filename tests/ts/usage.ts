// Uses the generated declarations the way a front end would; `tsc --noEmit` must accept it.
// Each `@ts-expect-error` line is a shape the union must refuse: if the declarations accepted
// it, tsc would report the unused directive and the test would fail.
import type { AppSession, AppSessionType, ApiClient } from "../../schema/quickstart";
import type { AppSession as OpaqueSession } from "../../schema/opaque";

function describe(session: AppSession): string {
  switch (session.type) {
    case "user":
      return `user ${session.properties.userID}`;
    case "api":
      return `api client ${session.properties.client_id} (${session.properties.scopes.join(", ")})`;
  }
}

const user: AppSession = { type: "user", properties: { userID: "123" } };
const client: ApiClient = { client_id: "ci", scopes: ["read"] };
const api: AppSession = { type: "api", properties: client };
const tags: AppSessionType[] = ["user", "api"];
const admin: OpaqueSession = { type: "admin", properties: { user_id: "root" } };

// @ts-expect-error: an unknown type
const unknownType: AppSession = { type: "guest", properties: {} };
// @ts-expect-error: a missing property
const missingProperty: AppSession = { type: "user", properties: {} };
// @ts-expect-error: a property of the wrong type
const wrongType: AppSession = { type: "user", properties: { userID: 123 } };
// @ts-expect-error: the properties of another variant
const mixed: AppSession = { type: "user", properties: client };
// @ts-expect-error: not a tag
const notATag: AppSessionType = "admin";

export const all = [describe(user), describe(api), tags, admin, unknownType, missingProperty, wrongType, mixed, notATag];
